"""Content-gap grouping at each precision: does `citebot report` form the same groups?

Run: .venv/bin/python benchmarks/bench_gaps.py. A hand-labelled set of unanswered questions
(topics a handbook might lack, each asked in several wordings, with near topics side by side:
a VPN that won't connect and a VPN that is slow) is grouped at float32, at this CPU's int8, and
at int8 with 7-bit weights (the path of CPUs without VNNI, whose integer sums never overflow, so
this CPU computes the same vectors). Prints, per precision: the groups' purity and completeness
against the labels, the weakest merge inside a labelled topic (the lowest cosine at which a
wording joined its topic's group) and the closest two topics' means, each beside the
threshold (bot/core/gaps.py SAME_TOPIC).

Measured here (VNNI CPU): at 0.6 the three precisions give the same groups but for one pair,
"VPN won't connect" and "VPN is slow" (their means' cosine 0.596-0.602, merged at int8 only);
every topic whose wordings share words is grouped whole; wordings that share no word with the
rest ("what's our annual PTO allowance") stay apart at every threshold that keeps topics apart.
"""

from __future__ import annotations

import numpy as np
from common import print_machine

TOPICS: dict[str, list[str]] = {
    "parking": [
        "Where can I park my car at the office?",
        "where do we park at the office",
        "Is there parking for employees at the office?",
        "where can i leave my car when i come to the office",
        "office parking??",
    ],
    "vpn connect": [
        "How do I connect to the VPN from home?",
        "how to connect to the vpn when working from home",
        "VPN connection from home, how?",
        "can't get onto the vpn from my house",
    ],
    "vpn slow": [
        "Why is the VPN so slow?",
        "the vpn is really slow today, what can I do",
        "VPN speed is terrible, any tips?",
    ],
    "vacation": [
        "How many vacation days do I get per year?",
        "how many vacation days per year do employees get",
        "what's our annual PTO allowance",
    ],
    "expenses": [
        "How do I submit an expense report?",
        "where do I file my expenses",
        "how to claim back travel costs",
    ],
    "laptop": [
        "Who do I ask for a new laptop?",
        "my laptop is broken, how do I get a replacement",
        "how do I request new hardware",
    ],
    "meeting rooms": [
        "How do I book a meeting room?",
        "booking a conference room",
        "how can I reserve a room for a meeting",
    ],
    "dress code": [
        "What is the dress code?",
        "Can I wear shorts to the office?",
        "what should I wear at work",
    ],
    "password": [
        "How do I reset my password?",
        "forgot my password, help",
        "how to change my login password",
    ],
    "sb 1047 author": [
        "Who wrote SB 1047?",
        "which senator authored SB 1047",
    ],
}


def measure(vectors: np.ndarray, labels: list[int], threshold: float) -> dict[str, float]:
    """Score the grouping against the labels and find the margins on both sides."""
    from bot.core.gaps import group_by_meaning

    groups = group_by_meaning(vectors, threshold)
    found = np.empty(len(labels), dtype=int)
    for g, members in enumerate(groups):
        found[members] = g
    label = np.array(labels)
    same_found = found[:, None] == found[None, :]
    same_label = label[:, None] == label[None, :]
    off_diagonal = ~np.eye(len(labels), dtype=bool)
    purity = (same_found & same_label & off_diagonal).sum() / (same_found & off_diagonal).sum()
    completeness = (same_found & same_label & off_diagonal).sum() / (
        same_label & off_diagonal
    ).sum()
    # Grouping each labelled topic alone at threshold -1 shows the cosine of its last merge.
    weakest = 1.0
    means = []
    for topic in sorted(set(labels)):
        members = vectors[label == topic]
        weakest = min(weakest, _last_merge(members))
        mean = members.sum(axis=0)
        means.append(mean / np.linalg.norm(mean))
    between = np.array(means) @ np.array(means).T
    np.fill_diagonal(between, -1)
    return {
        "groups": len(groups),
        "purity": float(purity),
        "completeness": float(completeness),
        "weakest_merge_in_topic": weakest,
        "closest_topics": float(between.max()),
    }


def _last_merge(vectors: np.ndarray) -> float:
    """Return the lowest centroid cosine at which these vectors all join one group."""
    low, high = -1.0, 1.0
    from bot.core.gaps import group_by_meaning

    for _ in range(30):  # bisect on the threshold
        middle = (low + high) / 2
        if len(group_by_meaning(vectors, middle)) == 1:
            low = middle
        else:
            high = middle
    return low


def main() -> None:
    import index.int8
    from bot.core.gaps import SAME_TOPIC
    from index.embedder import SentenceTransformerEmbedder

    print_machine()
    questions = [q for wordings in TOPICS.values() for q in wordings]
    labels = [t for t, wordings in enumerate(TOPICS.values()) for _ in wordings]
    print(f"{len(questions)} questions in {len(TOPICS)} labelled topics; threshold {SAME_TOPIC}")
    print(
        f"{'precision':<26}{'groups':>7}{'purity':>8}{'complete':>9}{'weakest in':>11}"
        f"{'closest out':>12}"
    )
    seven_bit = index.int8.int8_weight_levels
    for name, precision, levels in (
        ("float32", "float32", None),
        ("int8 (this CPU)", "int8", None),
        ("int8, 7-bit (no VNNI)", "int8", 63),
    ):
        if levels is not None:
            index.int8.int8_weight_levels = lambda levels=levels: levels  # type: ignore[misc]
        vectors = SentenceTransformerEmbedder(precision=precision).embed_batch(questions)
        index.int8.int8_weight_levels = seven_bit  # type: ignore[assignment]
        row = measure(vectors, labels, SAME_TOPIC)
        print(
            f"{name:<26}{row['groups']:>7}{row['purity']:>8.3f}{row['completeness']:>9.3f}"
            f"{row['weakest_merge_in_topic']:>11.3f}{row['closest_topics']:>12.3f}"
        )


if __name__ == "__main__":
    main()
