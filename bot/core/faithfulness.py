"""Does a model's sentence say only what its cited sentences say? (CITEBOT_WRITER=llm's check)

A sentence may say less than its evidence, never more or other. The evidence is whole
sentences: the sentence(s) of the cited passage that hold the span the model copied, never the
span alone (an eight-word span leaves out the clause a lie changed). Against them:

- literals: every number (with the word it counts), date, version, URL, e-mail address, path,
  code identifier, mention and quoted string of the sentence occurs verbatim in the evidence;
- words: every content word's stem occurs in the evidence, but for a few connectives a
  paraphrase needs; a new name or term fails;
- polarity: negations, "only" and the like occur in both or in neither; quantifiers and modals
  of the sentence (all, every, must, may, …) occur in the evidence; and no word of an antonym
  pair (increase/decrease, enable/disable, …) stands where the evidence has its opposite.

What it cannot catch: a sentence built only from its evidence's words and literals that
recombines them into something the evidence does not say ("IBM was founded by Meta" from "IBM
and Meta founded the AI Alliance"). The README says so.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from index.lexical import stem, to_terms
from index.sentences import sentence_spans

_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "«": '"', "»": '"'})

# Literals copied verbatim or not at all.
_LITERALS = [
    re.compile(pattern)
    for pattern in (
        r"\b(?:https?|ftp)://[^\s<>\"')\]]+",  # URLs
        r"\bwww\.[^\s<>\"')\]]+",
        r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",  # e-mail addresses
        r"<[@#!][^>]*>|(?<!\w)@[\w.-]+",  # chat mentions, @handles
        r"\[[^\]]*\]\([^)]*\)",  # Markdown links
        r"(?:~|\.{1,2})?/[\w.-]+(?:/[\w.-]*)*",  # paths
        r"`[^`]+`",  # code
        r"\"[^\"]{1,200}\"",  # quoted strings
        r"\b[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)+(?:\(\))?",  # dotted identifiers, calls
        r"\b[a-z]+_[\w]+\b|\b[a-z]+[A-Z]\w*\b|--?[a-z][\w-]+",  # snake_case, camelCase, --flags
        r"[-+−±]?[$€£]?\d[\d,]*(?:\.\d+)*(?:[-–]\w+)?%?",  # numbers, versions, dates, SB-1047
        r"\b[A-Za-z]+-\d[\w.]*",  # GPT-4, SB-1047
    )
]
# A number and the word it counts ("12 hours", "500 organizations"): the unit must stay.
_COUNTED = re.compile(r"(\d[\d,.]*)\s+([a-z]+)", re.IGNORECASE)

# Words a faithful paraphrase may add: they join or frame facts, they state none.
CONNECTIVES = frozenset(
    stem(word)
    for word in [
        "also",
        "according",
        "says",
        "say",
        "said",
        "states",
        "state",
        "stated",
        "notes",
        "note",
        "mentions",
        "mention",
        "describes",
        "describe",
        "explains",
        "explain",
        "document",
        "documents",
        "passage",
        "passages",
        "source",
        "sources",
        "text",
        "therefore",
        "thus",
        "however",
        "although",
        "whereas",
        "while",
        "instead",
        "rather",
        "example",
        "instance",
        "including",
        "include",
        "includes",
        "called",
        "known",
    ]
)

# Words whose presence flips a fact: a sentence must have them exactly where its evidence does.
_NEGATIONS = frozenset(
    [
        "not",
        "no",
        "never",
        "without",
        "cannot",
        "none",
        "nor",
        "neither",
        "nobody",
        "nothing",
        "nowhere",
        "n't",
    ]
)
_RESTRICTIONS = frozenset(
    [
        "only",
        "solely",
        "exclusively",
    ]
)
# Words a sentence may leave out (it says less) but never add.
_QUANTIFIERS_AND_MODALS = frozenset(
    [
        "all",
        "every",
        "always",
        "each",
        "any",
        "must",
        "may",
        "might",
        "should",
        "shall",
        "required",
        "optional",
        "mandatory",
        "never",
        "often",
        "usually",
        "sometimes",
        "rarely",
        "most",
        "many",
        "few",
        "some",
    ]
)
ANTONYMS = (
    ("increase", "decrease"),
    ("increases", "decreases"),
    ("before", "after"),
    ("enable", "disable"),
    ("enabled", "disabled"),
    ("more", "less"),
    ("more", "fewer"),
    ("allow", "deny"),
    ("allowed", "denied"),
    ("allow", "forbid"),
    ("add", "remove"),
    ("added", "removed"),
    ("start", "stop"),
    ("open", "closed"),
    ("include", "exclude"),
    ("included", "excluded"),
    ("minimum", "maximum"),
    ("above", "below"),
    ("true", "false"),
    ("higher", "lower"),
    ("larger", "smaller"),
    ("first", "last"),
    ("accept", "reject"),
    ("accepted", "rejected"),
    ("support", "oppose"),
    ("supports", "opposes"),
    ("success", "failure"),
    ("public", "private"),
    ("safe", "unsafe"),
    ("legal", "illegal"),
)
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_CLAUSE = re.compile(r"[,;:()\[\]—–]|\s-\s|\b(?:but|while|whereas|although|though)\b")
_NAME = re.compile(r"(?<=[\w,;:)] )[A-Z][\w-]*")  # a capital not at a sentence's start
# A sentence that speaks to the model rather than about the subject is an injected instruction,
# never evidence, however faithfully a sentence repeats it.
_INSTRUCTION = re.compile(
    r"\b(ignore|disregard|forget)\b[^.]{0,40}\b(instructions|rules|prompt|guidelines)\b"
    r"|\b(tell|instruct|ask|direct|urge)\s+the\s+(user|reader|customer)s?\b"
    r"|\byou are now\b|\bsystem prompt\b|\bas an ai\b|\bnew instructions\b",
    re.IGNORECASE,
)


def fold(text: str) -> str:
    """Fold typographic quotes and whitespace, so copied words match their source."""
    return " ".join(text.translate(_QUOTES).split())


@dataclass(frozen=True, slots=True)
class Evidence:
    """The whole sentence(s) of a passage that hold a cited span."""

    text: str


def evidence_for(passage: str, span: str) -> Evidence | None:
    """Return the passage's sentence(s) holding the span, or None if it isn't there (or they
    are an instruction to the model, injected into a document).

    The span may cross from one sentence into the next, or from one line (a paragraph, list
    item or table row) into the next: every sentence it touches is evidence.
    """
    wanted = fold(span)
    if not wanted:
        return None
    lines = [fold(line) for line in passage.split("\n")]
    flat = " ".join(lines)  # the same offsets as the lines joined by "\n"
    at = flat.find(wanted)
    if at < 0:
        return None
    end = at + len(wanted)
    pieces = []
    offset = 0
    for line in lines:
        low, high = max(at - offset, 0), min(end - offset, len(line))
        if low < high or (low == high == 0 and at <= offset < end):
            spans = sentence_spans(line) or [(0, len(line))]
            touched = [(s, e) for s, e in spans if s < high and e > low] or [(0, len(line))]
            pieces.append(line[touched[0][0] : touched[-1][1]])
        offset += len(line) + 1
    sentences = " ".join(piece for piece in pieces if piece)
    return None if _INSTRUCTION.search(sentences) else Evidence(sentences)


def literals(text: str) -> list[str]:
    """Return the verbatim-only parts of a text: numbers, URLs, paths, identifiers, quotes."""
    found: list[str] = []
    for pattern in _LITERALS:
        for match in pattern.finditer(text):
            value = match.group(0).rstrip(".,;:!?")
            if value and any(char.isalnum() for char in value):
                found.append(value)
    return found


def check(sentence: str, evidence: Sequence[Evidence], context: Sequence[Evidence] = ()) -> str:
    """Return why the sentence says more or other than its evidence, or "" if it doesn't.

    context (the cited pages' titles and headings) lends its words, not its literals.
    """
    said = fold(sentence)
    source = " ".join(e.text for e in evidence)
    for literal in literals(said):
        if literal not in source:
            return f"{literal!r} is not in the cited sentences"
    units = {(n, w.lower()) for n, w in _COUNTED.findall(source)}
    numbers = {n for n, _ in units}
    for number, word in _COUNTED.findall(said):
        if number in numbers and (number, word.lower()) not in units and word.isalpha():
            counted = {w for n, w in units if n == number}
            if not _is_function_word(word) and not any(_is_function_word(w) for w in counted):
                return f"{number} {word} is not what the cited sentences count"
    vocabulary = set(to_terms(" ".join([source, *(c.text for c in context)])))
    new = set(to_terms(said)) - vocabulary - CONNECTIVES
    if new:
        return f"{', '.join(sorted(new))} not in the cited sentences"
    # Names are the evidence's own: a title lends "uploads" to a sentence, never "California".
    names = sorted({name for name in _NAME.findall(said) if name not in source})
    if names:
        return f"{', '.join(names)} not in the cited sentences"
    return _polarity(_words(said), _words(_covered(said, source)), _words(source))


def _covered(said: str, source: str) -> str:
    """Return the clauses of source that the sentence speaks of (shares a content word with).

    A sentence may leave out a clause of its evidence, negation and all ("What policy makers
    need to know about AI" from "… about AI (and what goes wrong if they don't)"); the clauses
    it keeps must keep their negations.
    """
    terms = set(to_terms(said))
    folded = said.casefold()
    clauses = [clause for clause in _CLAUSE.split(source) if clause and clause.strip()]
    return " ".join(
        clause
        for clause in clauses
        # A clause of stop words alone ("They can't") is the sentence's when it repeats it.
        if terms & set(to_terms(clause)) or clause.strip().casefold() in folded
    )


def _is_function_word(word: str) -> bool:
    return not to_terms(word)


def _words(text: str) -> list[str]:
    words = []
    for word in _WORD.findall(text.lower()):
        if word.endswith("n't"):
            words += [word[:-3], "n't"]
        else:
            words.append(word)
    return words


def _polarity(said: Sequence[str], covered: Sequence[str], source: Sequence[str]) -> str:
    said_words, source_words = set(said), set(source)
    for group in (_NEGATIONS, _RESTRICTIONS):
        # As often in the sentence as in the clauses it speaks of: "can not see" beside the
        # evidence's "can see … can't" is one too many.
        if sum(w in group for w in said) != sum(w in group for w in covered):
            word = sorted((said_words | set(covered) | source_words) & group)[0]
            return f"“{word}” is not said the same way in the cited sentences"
    added = (said_words & _QUANTIFIERS_AND_MODALS) - source_words
    if added:
        return f"“{sorted(added)[0]}” is not in the cited sentences"
    for one, other in ANTONYMS:
        for word, opposite in ((one, other), (other, one)):
            if word in said_words and word not in source_words and opposite in source_words:
                return f"“{word}” where the cited sentences say “{opposite}”"
    return ""
