"""Tell ordinary English ("regenerate", "spits", "halfway") from words that name a thing.

A question declined because the documents never use one of its words must be declined over a
name ("bitbucket", "patroni", "ubuntu"), never over a word a chat user types in passing. Word
frequencies in general text (wordfreq, built from web, subtitles, news and books) tell them
apart, with one twist: names of software are common on the web too ("ubuntu" is as frequent as
"typo"), but they are about as common in French, Spanish and Portuguese text, while an English
word is far rarer there. So a word is ordinary English when it is reasonably common in English
and clearly more common there than in those languages (English zipf, then the other three's
median): "regenerate" 3.15 / 0, "neater" 2.37 / 0, "replicas" 3.00 / 2.00, "halfway" 4.06 / 1.71
are ordinary; "ubuntu" 3.27 / 3.29, "github" 3.18 / 2.69, "docker" 2.98 / 2.22, "gitlab" 1.86 /
1.46 are names. English words that are also product names ("celery", "poetry", "jest", "slack")
count as ordinary: a question is not declined over such a word alone. Chat coinages wordfreq
doesn't list ("dedupe") still count as names.

The word lists load on first use (about 0.4 s and 140 MB), only when a question holds a word
the documents never use and the embedding model's tokenizer splits.
"""

from __future__ import annotations

import functools
import statistics

# Zipf scale: log10 of occurrences per billion words; 3.0 is once per million.
_MIN_ENGLISH_ZIPF = 2.0
_MIN_LEAD_OVER_OTHERS = 1.0
_COMMON_ENGLISH_ZIPF = 3.0
_OTHER_LANGUAGES = ("fr", "es", "pt")


def is_ordinary_english(word: str) -> bool:
    """Tell whether a lower-case word is ordinary English rather than the name of a thing."""
    english = _zipf(word, "en")
    if english < _MIN_ENGLISH_ZIPF:
        return False
    elsewhere = statistics.median(_zipf(word, language) for language in _OTHER_LANGUAGES)
    return english - elsewhere >= _MIN_LEAD_OVER_OTHERS


def is_common_english(word: str) -> bool:
    """Tell whether a word is common in English whatever else it names (once per million words:
    "blob", "replicas", "celery"): too common to say a question is about one particular thing."""
    return _zipf(word, "en") >= _COMMON_ENGLISH_ZIPF


@functools.lru_cache(maxsize=4096)
def _zipf(word: str, language: str) -> float:
    from wordfreq import zipf_frequency  # noqa: PLC0415 (its word lists load on first use)

    return float(zipf_frequency(word, language))
