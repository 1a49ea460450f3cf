"""Content gaps: the questions the documents didn't answer, grouped by what they ask."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from bot.core.feedback import Unanswered
from index.embedder import Embedder

# Cosine above which two questions ask the same thing (MiniLM: paraphrases score 0.7-0.9,
# questions on the same topic but about different things 0.4-0.6).
SAME_QUESTION = 0.7
_EXAMPLES = 3


@dataclass(frozen=True, slots=True)
class Gap:
    """Questions that ask about the same thing, none of them answered to the asker's liking."""

    question: str  # the first asked, standing for the group
    count: int
    declined: int  # how many the bot said the documents don't cover
    voted_down: int  # how many got an answer that someone voted 👎
    examples: tuple[str, ...]  # other wordings, a few
    last_asked: str


def group_gaps(
    unanswered: Sequence[Unanswered], embedder: Embedder, threshold: float = SAME_QUESTION
) -> list[Gap]:
    """Group questions by meaning (each joins the first group it is close enough to)."""
    if not unanswered:
        return []
    vectors = np.asarray(embedder.embed_batch([item.question for item in unanswered]))
    leaders: list[int] = []
    members: list[list[int]] = []
    for i, vector in enumerate(vectors):
        scores = vectors[leaders] @ vector if leaders else np.zeros(0)
        best = int(np.argmax(scores)) if len(scores) else -1
        if best >= 0 and scores[best] >= threshold:
            members[best].append(i)
        else:
            leaders.append(i)
            members.append([i])
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
        others = f"  ({'; '.join(gap.examples)})" if gap.examples else ""
        lines.append(
            f"{gap.count:>5} {gap.declined:>8} {gap.voted_down:>3}  {gap.question}{others}"
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
