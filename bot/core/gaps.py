"""Content gaps: the questions the documents didn't answer, grouped by what they ask."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from bot.core.feedback import Unanswered, printable
from index.embedder import Embedder

# Two groups ask about the same thing when the means of their questions' vectors have a cosine
# of at least this. Means, not single pairs: wordings of one question can be far apart pairwise
# ("where can i leave my car" and "Is there parking for employees?": 0.53) while each is close to
# what the group has in common (0.82-0.95), and other topics stay far (under 0.3). Measured at
# float32 and int8 (benchmarks/bench_gaps.py): the groups it forms are the same at both.
SAME_TOPIC = 0.6
_EXAMPLES = 3
# Grouping costs the square of the distinct questions in memory and time; past this many, the
# most asked are grouped and the rest, asked once or twice each, stand alone.
MAX_GROUPED = 3_000


@dataclass(frozen=True, slots=True)
class Gap:
    """Questions that ask about the same thing, none of them answered to the asker's liking."""

    question: str  # the first asked, standing for the group
    count: int
    declined: int  # how many the bot said the documents don't cover
    voted_down: int  # how many got an answer that someone voted 👎
    examples: tuple[str, ...]  # other wordings, a few
    last_asked: str


def group_by_meaning(vectors: np.ndarray, threshold: float = SAME_TOPIC) -> list[list[int]]:
    """Group unit vectors: merge the two closest groups (cosine of their means) while close enough.

    Agglomerative with centroid linkage, so the result does not depend on the order the
    questions came in, unlike joining each to the first group it is close to.
    """
    count = len(vectors)
    sums = np.array(vectors, dtype=np.float64)
    groups: list[list[int]] = [[i] for i in range(count)]
    alive = np.ones(count, dtype=bool)
    means = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    similarity = means @ means.T
    np.fill_diagonal(similarity, -np.inf)
    while count > 1:
        flat = int(np.argmax(similarity))
        a, b = divmod(flat, len(vectors))
        if similarity[a, b] < threshold:
            break
        a, b = min(a, b), max(a, b)
        groups[a].extend(groups[b])
        groups[b] = []
        alive[b] = False
        sums[a] += sums[b]
        mean = sums[a] / max(float(np.linalg.norm(sums[a])), 1e-12)
        row = means @ mean
        means[a] = mean
        row[~alive] = -np.inf
        row[a] = -np.inf
        similarity[a, :] = row
        similarity[:, a] = row
        similarity[b, :] = -np.inf
        similarity[:, b] = -np.inf
        count -= 1
    return [sorted(group) for group in groups if group]


def group_gaps(
    unanswered: Sequence[Unanswered], embedder: Embedder, threshold: float = SAME_TOPIC
) -> list[Gap]:
    """Group questions by meaning; each group stands for one thing the documents lack."""
    if not unanswered:
        return []
    asked: dict[str, list[int]] = {}  # each wording once, in the order first asked
    for i, item in enumerate(unanswered):
        asked.setdefault(item.question, []).append(i)
    wordings = sorted(asked, key=lambda text: -len(asked[text]))[:MAX_GROUPED]
    kept = set(wordings)
    wordings = [text for text in asked if text in kept]  # back in the order first asked
    vectors = np.asarray(embedder.embed_batch(wordings))
    members = [
        sorted(i for w in group for i in asked[wordings[w]])
        for group in group_by_meaning(vectors, threshold)
    ]
    members += [indices for text, indices in asked.items() if text not in kept]
    gaps = []
    for group in members:
        items = [unanswered[i] for i in group]
        wordings = list(dict.fromkeys(item.question for item in items))
        gaps.append(
            Gap(
                question=wordings[0],
                count=len(items),
                declined=sum(item.declined for item in items),
                voted_down=sum(item.voted_down for item in items),
                examples=tuple(wordings[1 : 1 + _EXAMPLES]),
                last_asked=max(item.asked_at for item in items),
            )
        )
    return sorted(gaps, key=lambda gap: (-gap.count, gap.question))


def gaps_json(gaps: Sequence[Gap]) -> str:
    """Return the groups as JSON, most asked first."""
    return json.dumps([asdict(gap) for gap in gaps], indent=2, ensure_ascii=False) + "\n"


def gaps_table(gaps: Sequence[Gap]) -> str:
    """Return the groups as an aligned text table."""
    lines = [f"{'asked':>5} {'declined':>8} {'👎':>3}  question (other wordings)"]
    for gap in gaps:
        others = f"  ({'; '.join(map(printable, gap.examples))})" if gap.examples else ""
        lines.append(
            f"{gap.count:>5} {gap.declined:>8} {gap.voted_down:>3}  {printable(gap.question)}"
            f"{others}"
        )
    total = sum(gap.count for gap in gaps)
    lines.append(f"{total} unanswered questions in {len(gaps)} groups")
    return "\n".join(lines) + "\n"


def gaps_html(gaps: Sequence[Gap], *, title: str) -> str:
    """Return a self-contained HTML page: a bar per group, most asked first."""
    widest = max((gap.count for gap in gaps), default=1)
    rows = []
    for gap in gaps:
        share = 100 * gap.count / widest
        others = "".join(f"<li>{html.escape(example)}</li>" for example in gap.examples)
        rows.append(
            "<tr>"
            f'<td class="q">{html.escape(gap.question)}<ul>{others}</ul></td>'
            f'<td class="bar"><div style="width:{share:.0f}%">{gap.count}</div></td>'
            f"<td>{gap.declined}</td><td>{gap.voted_down}</td>"
            f"<td>{html.escape(gap.last_asked)}</td>"
            "</tr>"
        )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font: 14px system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ text-align: left; padding: 6px 8px; border-bottom: 1px solid #ddd; vertical-align: top; }}
td.q {{ width: 45%; }} td.q ul {{ margin: 4px 0 0 1em; padding: 0; color: #666; }}
td.bar {{ width: 30%; }}
td.bar div {{ background: #4a78c2; color: #fff; padding: 2px 6px; min-width: 1.5em; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>{sum(gap.count for gap in gaps)} questions the documents didn't answer (declined, or voted
👎), in {len(gaps)} groups of questions asking the same thing.</p>
<table><tr><th>question (other wordings)</th><th>asked</th><th>declined</th><th>👎</th>
<th>last asked</th></tr>
{chr(10).join(rows)}
</table></body></html>
"""
