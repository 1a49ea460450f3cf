"""The `citebot` command: ingest, ask and eval from a terminal."""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError
from pydantic_settings import SettingsError
from rich.console import Console
from rich.markup import escape

from bot.core.answer import HEADING_SEPARATOR, Answer, quote_blocks, shown_text
from bot.log_redaction import install_redaction
from bot.platforms import PLATFORMS, platform_named, setup_hint
from bot.platforms.chat_text import cited_excerpt, label_as_code, terms_as_code
from bot.settings import Settings
from bot.sources import secret_values as source_secrets
from index.errors import CitebotError

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from bot.core.engine import Citebot
    from ingest.writing import Progress

logger = logging.getLogger("citebot")

_EXCERPT = 320


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="citebot",
        description="Answer questions from your documents with quoted, cited passages.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ingest = commands.add_parser("ingest", help="build or update the index from documents")
    ingest.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="folders or files to index (default: CITEBOT_SOURCES, i.e. sources/)",
    )
    ingest.add_argument("--rebuild", action="store_true", help="re-embed everything")
    ingest.add_argument(
        "--ray",
        action="store_true",
        help="embed on a Ray cluster (CITEBOT_INGEST__RAY_ADDRESS, default auto)",
    )
    ingest.add_argument("--json", action="store_true", help="print the report as JSON")
    _collection_option(ingest, "index")

    sync = commands.add_parser(
        "sync", help="fetch what changed on every site and repository, then update the index"
    )
    sync.add_argument(
        "names", nargs="*", metavar="NAME", help="sources to sync (default: every one declared)"
    )

    ask = commands.add_parser("ask", help="answer a question (builds the index on first use)")
    ask.add_argument("question", nargs="+", help="the question, quoted or not")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    ask.add_argument("-k", "--top-k", type=_passage_count, help="passages to retrieve (1-100)")
    _collection_option(ask, "answer from")
    ask.add_argument(
        "--after",
        action="append",
        default=[],
        metavar="EARLIER",
        help="an earlier question of the same conversation, searched with this one as a chat "
        "thread's follow-up is (repeat for several, oldest first)",
    )

    for platform in PLATFORMS:
        commands.add_parser(platform.name, help=platform.help)
    commands.add_parser("serve", help="run every configured chat bot in one process")
    config_docs = commands.add_parser(
        "config-docs", help="print the configuration reference, or rewrite it in a README"
    )
    config_docs.add_argument("--readme", type=Path, help="README.md whose reference to update")
    doctor = commands.add_parser("doctor", help="check settings, tokens, index and data folder")
    doctor.add_argument("--json", action="store_true", help="print the checks as JSON")
    _collection_option(doctor, "check")
    doctor.add_argument(
        "--deep",
        action="store_true",
        help="also re-embed a sample of the index and run SQLite's integrity check (slower)",
    )

    feedback = commands.add_parser("feedback", help="list or export 👍/👎 feedback from chat")
    feedback.add_argument("--format", choices=["table", "csv", "jsonl"], default="table")
    feedback.add_argument("-o", "--output", type=Path, help="write to a file instead of stdout")

    gaps = commands.add_parser(
        "report", help="questions the documents didn't answer, grouped (content gaps)"
    )
    gaps.add_argument(
        "--since", type=_age, default=None, help="only questions this recent: 7d, 24h, 30m"
    )
    gaps.add_argument("--json", action="store_true", help="print the groups as JSON")
    gaps.add_argument("--html", type=Path, help="also write a self-contained HTML page here")

    evaluate = commands.add_parser("eval", help="measure retrieval on a JSONL question file")
    evaluate.add_argument("file", type=Path, help='JSONL lines {"question", "expect": [...]}')
    evaluate.add_argument("--json", action="store_true", help="print metrics as JSON")
    evaluate.add_argument(
        "--writer",
        choices=["extractive", "llm"],
        help="answer writer to evaluate (default: CITEBOT_WRITER); llm also reports the share "
        "of the model's sentences that checked out and of answers that fell back to quotes",
    )
    return parser


def _collection_option(command: argparse.ArgumentParser, verb: str) -> None:
    command.add_argument(
        "--collection",
        metavar="NAME",
        help=f"the collection to {verb} (CITEBOT_COLLECTIONS; default: CITEBOT_SOURCES)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the citebot command line; return the exit status."""
    args = _parser().parse_args(argv)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        settings = Settings()
        level = logging.INFO if args.verbose else settings.log_level.upper()
        logging.basicConfig(
            level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        llm_key = settings.llm.api_key
        install_redaction(
            [value for platform in PLATFORMS for value in platform.secret_values(settings)]
            + ([llm_key.get_secret_value()] if llm_key else [])
            + source_secrets(settings)
        )
        if getattr(args, "collection", None):
            try:
                settings = settings.for_collection(args.collection)
            except KeyError as exc:
                raise CitebotError(f"{exc.args[0]}; declare it in CITEBOT_COLLECTIONS") from exc
        handler: Callable[[argparse.Namespace, Settings, Console], int] = {
            "ingest": _ingest,
            "sync": _sync,
            "ask": _ask,
            "eval": _eval,
            **{platform.name: _serve for platform in PLATFORMS},
            "serve": _serve,
            "doctor": _doctor,
            "config-docs": _config_docs,
            "feedback": _feedback,
            "report": _report,
        }[args.command]
        return handler(args, settings, err)
    except CitebotError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        return 1
    except SettingsError as exc:  # a nested setting given as JSON that doesn't parse
        field = re.search(r'field "([^"]+)"', str(exc))
        name = field.group(1).upper() if field else "…"
        err.print(
            f"[bold red]error:[/] setting CITEBOT_{escape(name)} is not valid JSON; "
            f"fix it in the environment or .env, or set CITEBOT_{escape(name)}__… one at a time"
        )
        return 2
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        err.print(
            f"[bold red]error:[/] setting {escape(where)}: {escape(first['msg'])}; "
            "fix it in the environment or .env (CITEBOT_...)"
        )
        return 2
    except UnicodeDecodeError as exc:  # .env in another encoding: pydantic-settings reads UTF-8
        err.print(
            f"[bold red]error:[/] .env is not valid UTF-8 (byte {exc.start}); re-save it as UTF-8"
        )
        return 2
    except PermissionError as exc:  # a data or index folder the user may not read (mode 000)
        where = exc.filename or "a file citebot needs"
        err.print(
            f"[bold red]error:[/] permission denied on {escape(str(where))}; give the user "
            "running citebot access to it (or point CITEBOT_DATA_DIR / CITEBOT_INDEX_DIR elsewhere)"
        )
        return 1
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130


@contextmanager
def _status(console: Console, message: str) -> Iterator[None]:
    """Show a spinner on a terminal while something slow (model load) runs."""
    if console.is_terminal:
        with console.status(message):
            yield
    else:
        yield


@contextmanager
def _progress_bar(console: Console, label: str) -> Iterator[Callable[[int, int], None] | None]:
    """Yield a (done, total) progress callback drawing a bar on a terminal, else None."""
    if not console.is_terminal:
        yield None
        return
    from rich.progress import Progress  # noqa: PLC0415

    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


def _ingest(args: argparse.Namespace, settings: Settings, err: Console) -> int:
    from bot.core.engine import run_ingest  # noqa: PLC0415 (keeps `citebot --help` instant)

    with _progress_bar(err, "Reading and embedding") as progress:
        report = run_ingest(
            settings,
            list(args.paths) or None,
            rebuild=args.rebuild,
            progress=progress,
            distributed=args.ray,
        )
    for message in (*report.warnings, *report.skipped):
        err.print(f"[yellow]warning:[/] {escape(message)}")
    if report.rebuilt_because:
        err.print(f"rebuilt from scratch: {escape(report.rebuilt_because)}")
    if args.json:
        print(
            json.dumps(
                {
                    "added": report.added,
                    "updated": report.updated,
                    "removed": report.removed,
                    "unchanged": report.unchanged,
                    "skipped": list(report.skipped),
                    "warnings": list(report.warnings),
                    "chunks_embedded": report.chunks_embedded,
                    "chunk_count": report.chunk_count,
                    "seconds": round(report.seconds, 3),
                    "index_dir": str(settings.index_dir),
                },
                indent=2,
            )
        )
    else:
        print(report.summary())
    return 0


def _sync(args: argparse.Namespace, settings: Settings, err: Console) -> int:
    from bot.core.engine import run_ingest  # noqa: PLC0415
    from bot.sources import remote_sources, sync_source  # noqa: PLC0415

    declared = remote_sources(settings)
    if not declared:
        raise CitebotError(
            "no site or repository is declared; add a [sites.<name>] or [repos.<name>] table "
            "to citebot.toml (README: Sites and repositories)"
        )
    unknown = sorted(set(args.names) - {source.name for source in declared})
    if unknown:
        known = ", ".join(source.name for source in declared)
        raise CitebotError(f"no source named {', '.join(unknown)}; the declared ones are {known}")
    failed = 0
    for source in declared:
        if args.names and source.name not in args.names:
            continue
        with _progress_bar(err, f"Syncing {source.name}") as progress:
            report = sync_source(settings, source.name, progress=progress)
        for message in report.warnings:
            err.print(f"[yellow]warning:[/] {escape(source.name)}: {escape(message)}")
        print(report.summary())
        failed += not report.ok
    with _progress_bar(err, "Reading and embedding") as progress:
        ingested = run_ingest(settings, progress=progress)
    for message in (*ingested.warnings, *ingested.skipped):
        err.print(f"[yellow]warning:[/] {escape(message)}")
    print(ingested.summary())
    if failed:
        err.print(
            f"{failed} source(s) could not be synced; their files from the last sync are still "
            "indexed (see above, and `citebot doctor`)"
        )
    return 1 if failed else 0


def _passage_count(value: str) -> int:
    """Parse -k: a whole number of passages within the setting's bounds."""
    try:
        count = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if not 1 <= count <= 100:
        raise argparse.ArgumentTypeError(f"{count} is out of range; pick 1 to 100")
    return count


def _load_bot(settings: Settings, err: Console) -> Citebot:
    from bot.core.engine import Citebot, load_embedder  # noqa: PLC0415

    light = Citebot.load_without_torch(settings)
    if light is not None:
        return light

    with _status(err, "Loading model…"):
        embedder = load_embedder(settings)
    return Citebot.load(
        settings,
        embedder=embedder,
        build_if_missing=True,
        rebuild_if_stale=True,
        building=_building(err),
    )


def _building(err: Console) -> Callable[[str], AbstractContextManager[Progress | None]]:
    """Say why an index is being built, and show the progress of its embedding."""

    def building(reason: str) -> AbstractContextManager[Progress | None]:
        err.print(escape(reason[0].upper() + reason[1:]) + "…")
        return _progress_bar(err, "Reading and embedding")

    return building


def _ask(args: argparse.Namespace, settings: Settings, err: Console) -> int:

    from bot.core.engine import clean_question  # noqa: PLC0415

    # Checked before the model loads: a bad question or -k fails in a moment, not seconds.
    question = clean_question(" ".join(args.question), settings.retrieval.max_question_chars)
    if args.top_k is not None:
        settings.retrieval.top_k = args.top_k
    bot = _load_bot(settings, err)
    answer = bot.answer(question, args.after)
    if args.json:
        print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
    else:
        _print_answer(Console(highlight=False, soft_wrap=not sys.stdout.isatty()), answer)
    return 0


def _print_answer(console: Console, answer: Answer) -> None:
    """Print an answer for people: the quotes, then numbered sources with excerpts."""
    if not answer.found:
        console.print(f"[bold yellow]{escape(answer.text)}[/]")
        if answer.related:
            console.print("\n[dim]Closest passages (not evidence):[/]")
            for citation in answer.related:
                console.print(
                    f"[dim]- {escape(citation.title)} ({escape(citation.source)}, "
                    f"{escape(citation.location)}; score {citation.score:.2f})[/]"
                )
        return
    for block in quote_blocks(answer.quotes):
        cited = f"[bold cyan]\\[{block.label}][/]"
        if block.span:  # a model's sentence, then the words of the passage it was checked by
            console.print(f"{escape(block.parts[0].text)} {cited}")
            console.print(f"    [dim]“{escape(block.span)}”[/]")
            continue
        parts = [  # code as the page shows it, indented; prose in quotation marks
            "\n".join(f"    [green]{escape(line)}[/]" for line in shown_text(part).split("\n"))
            if part.code
            else f"“{escape(terms_as_code(part.text))}”"  # "`Field.blank`: …", as chats show it
            for part in block.parts
        ]
        if block.under:  # the release or name its section is headed by, on its first line
            separator = "\n" if block.parts[0].code else HEADING_SEPARATOR
            under = block.under
            label = escape(f"`{under}`") if label_as_code(under) else f"[bold]{escape(under)}[/]"
            parts[0] = f"{label}{separator}{parts[0]}"
        console.print("\n".join(parts) + f" {cited}")
    if answer.footnote:
        console.print(f"[dim]({escape(answer.footnote)})[/]")
    console.print()
    for citation in answer.citations:
        console.print(f"[bold cyan]\\[{citation.n}][/] [bold]{escape(citation.title)}[/]")
        console.print(
            f"    {escape(citation.source)}, {escape(citation.location)} "
            f"[dim](score {citation.score:.2f})[/]"
        )
        if citation.url:
            console.print(f"    {escape(citation.url)}")
        shown = cited_excerpt(answer, citation, _EXCERPT)
        console.print(f"    [dim]{escape(shown)}[/]")


def _serve(args: argparse.Namespace, settings: Settings, err: Console) -> int:
    from bot.core.engine import load_collections  # noqa: PLC0415
    from bot.serve import configured_platforms, serve  # noqa: PLC0415

    configured = configured_platforms(settings)
    wanted = configured if args.command == "serve" else [args.command]
    for name in wanted:
        if name not in configured:
            platform = platform_named(name)
            raise CitebotError(
                f"set {platform.enabled_by} to run the {platform.title} bot; see the README"
            )
    if not wanted:
        raise CitebotError(f"no chat platform is configured; set {setup_hint()}; see the README")
    _sync_never_synced(settings, err)
    bot = _load_bot(settings, err)
    try:
        collections = load_collections(settings, bot.embedder, building=_building(err))
    except BaseException:
        bot.close()
        raise
    serve(bot, settings, wanted, collections)
    return 0


def _sync_never_synced(settings: Settings, err: Console) -> None:
    """Sync, before serving, the sites and repositories that never were: their first answers
    must not wait for the schedule (or, without one, for someone to run `citebot sync`)."""
    from bot.core.engine import run_ingest  # noqa: PLC0415
    from bot.sources import mirror_folder, remote_sources, sync_source  # noqa: PLC0415

    never = [s for s in remote_sources(settings) if not mirror_folder(settings, s.name).is_dir()]
    for source in never:
        with _progress_bar(err, f"Syncing {source.name}") as progress:
            report = sync_source(settings, source.name, progress=progress)
        for message in report.warnings:
            err.print(f"[yellow]warning:[/] {escape(source.name)}: {escape(message)}")
        err.print(escape(report.summary()))
    if any(mirror_folder(settings, source.name).is_dir() for source in never):
        with _progress_bar(err, "Reading and embedding") as progress:
            err.print(escape(run_ingest(settings, progress=progress).summary()))


def _doctor(args: argparse.Namespace, settings: Settings, err: Console) -> int:
    from bot.doctor import all_well, run_checks  # noqa: PLC0415

    checks = run_checks(settings, deep=args.deep)
    if args.json:
        print(
            json.dumps(
                [
                    {"name": c.name, "status": c.status, "detail": c.detail, "fix": c.fix}
                    for c in checks
                ],
                indent=2,
            )
        )
    else:
        out = Console(highlight=False, soft_wrap=True)
        marks = {
            "ok": "[green]ok[/]     ",
            "warning": "[yellow]warning[/]",
            "problem": "[red]problem[/]",
        }
        for check in checks:
            out.print(f"{marks[check.status]} {escape(check.name)}: {escape(check.detail)}")
            if check.fix:
                out.print(f"         fix: {escape(check.fix)}")
        out.print("All is well." if all_well(checks) else "Problems found; see the fixes above.")
    return 0 if all_well(checks) else 1


def _config_docs(args: argparse.Namespace, settings: Settings, err: Console) -> int:
    from bot.config_docs import render_reference, update_readme  # noqa: PLC0415

    if args.readme is None:
        print(render_reference())
    elif update_readme(args.readme):
        err.print(f"updated the configuration reference in {escape(str(args.readme))}")
    return 0


def _feedback(args: argparse.Namespace, settings: Settings, err: Console) -> int:
    from bot.core.feedback import read_votes, write_feedback  # noqa: PLC0415

    path = settings.data_dir / "feedback.sqlite"
    if not path.exists():
        raise CitebotError(f"no feedback yet at {path}; it is recorded when people click 👍/👎")
    rows = read_votes(path)
    if args.output:
        with args.output.open("w", encoding="utf-8", newline="") as out:
            write_feedback(rows, out, args.format)
        err.print(f"wrote {len(rows)} votes to {escape(str(args.output))}")
    else:
        write_feedback(rows, sys.stdout, args.format)
    return 0


def _age(value: str) -> timedelta:
    """Parse --since: a number and a unit, d, h or m."""
    units = {"d": "days", "h": "hours", "m": "minutes"}
    number, unit = value[:-1], value[-1:]
    if unit not in units or not number.isdigit():
        raise argparse.ArgumentTypeError(f"{value!r} is not an age like 7d, 24h or 30m")
    return timedelta(**{units[unit]: int(number)})


def _report(args: argparse.Namespace, settings: Settings, err: Console) -> int:
    from bot.core.engine import load_embedder  # noqa: PLC0415
    from bot.core.feedback import read_unanswered  # noqa: PLC0415
    from bot.core.gaps import gaps_html, gaps_json, gaps_table, group_gaps  # noqa: PLC0415

    path = settings.data_dir / "feedback.sqlite"
    if not path.exists():
        raise CitebotError(f"no questions recorded yet at {path}; chat bots record them")
    since = (
        "" if args.since is None else (datetime.now(UTC) - args.since).isoformat(timespec="seconds")
    )
    unanswered = read_unanswered(path, since)
    with _status(err, "Grouping questions…"):
        gaps = group_gaps(unanswered, load_embedder(settings)) if unanswered else []
    print(gaps_json(gaps) if args.json else gaps_table(gaps), end="")
    if args.html:
        window = "all time" if args.since is None else f"the last {args.since}"
        args.html.write_text(gaps_html(gaps, title=f"citebot content gaps, {window}"), "utf-8")
        err.print(f"wrote {escape(str(args.html))}")
    return 0


def _eval(args: argparse.Namespace, settings: Settings, err: Console) -> int:
    from bot.core.evaluate import evaluate, read_questions, report_json  # noqa: PLC0415

    questions = read_questions(args.file)
    if args.writer:
        settings.writer = args.writer
    bot = _load_bot(settings, err)
    report = evaluate(bot, questions)
    if args.json:
        print(report_json(report))
        return 0
    metrics = report.metrics()
    for result in report.results:
        if result.answerable and (not result.rank or result.rank > 3 or not result.found):
            err.print(
                f"[yellow]miss[/] {escape(result.id)}: rank {result.rank}, "
                f"answered {result.found}: {escape(result.question)}"
            )
        if not result.answerable and result.found:
            err.print(
                f"[yellow]answered unanswerable[/] {escape(result.id)}: {escape(result.question)}"
            )
    width = max(len(name) for name in metrics)
    # Figures differ slightly between float32 and int8 passages: say which these are.
    print(f"{'precision':<{width}}  {report.precision}")
    for name, value in metrics.items():
        print(f"{name:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
