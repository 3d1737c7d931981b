"""`buzzwatch report`: a post-crisis report from the crisis log, as HTML and as Markdown."""

from __future__ import annotations

import argparse
from pathlib import Path

from buzzwatch.cli.common import SubParsers, fail, utc_time
from buzzwatch.report import ReportError, build_report, range_text, select
from buzzwatch.report_html import render_html
from buzzwatch.report_markdown import render_markdown
from pipeline.crisis_log import CrisisLog, LogBroken

DESCRIPTION = """\
A post-crisis report of one incident, or of every incident of a brand in a time range, from a
crisis log (`buzzwatch desk`, `buzzwatch replay --crisis-log DIR`): timeline, volume and
sentiment charts, response times, sentiment before and after each communication, what the
first alert showed, defenders, most shared authors, the queue at the end, and a "Lessons
learned" section to fill in. --html writes a self-contained page (no network), --markdown
the same as Markdown.

Times are ISO-8601 (2026-03-02T00:00Z, 2026-03-02); without an offset they are UTC. An incident
is in [FROM, TO) when it started before TO and had not ended by FROM.
"""


def add_command(commands: SubParsers) -> None:
    parser = commands.add_parser(
        "report",
        help="post-crisis report of an incident or a brand's incidents (HTML, Markdown)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--log", type=Path, required=True, metavar="DIR", help="crisis log")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--incident", metavar="ID", help="one incident, by id")
    which.add_argument("--brand", metavar="NAME", help="every incident of a brand in the range")
    parser.add_argument("--from", dest="start", type=utc_time, metavar="TIME", help="with --brand")
    parser.add_argument("--to", dest="end", type=utc_time, metavar="TIME", help="with --brand")
    parser.add_argument("--html", type=Path, metavar="FILE", help="write the HTML page here")
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="write the Markdown here")
    parser.set_defaults(run=run, report_parser=parser)


def run(args: argparse.Namespace) -> int:
    _check(args)
    if not args.log.is_dir():
        return fail("report", f"{args.log}: no crisis log there (not a directory)")
    try:
        logs = select(
            CrisisLog(args.log),
            incident=args.incident,
            brand=args.brand,
            start=args.start,
            end=args.end,
        )
        report = build_report(logs, _scope(args, len(logs)))
    except LogBroken as error:
        return fail("report", f"the crisis log is broken, no report written: {error}")
    except ReportError as error:
        return fail("report", str(error))
    except ValueError as error:  # pydantic's ValidationError: an entry that cannot be read
        return fail("report", f"{args.log}: an entry cannot be read: {error}")
    outputs = [(args.html, render_html), (args.markdown, render_markdown)]
    for path, render in outputs:
        if path is not None:
            try:
                path.write_text(render(report), encoding="utf-8")
            except OSError as error:
                return fail("report", f"{path}: {error.strerror or error}")
            print(f"report: {len(report.incidents)} incident(s) written to {path}")
    return 0


def _check(args: argparse.Namespace) -> None:
    parser: argparse.ArgumentParser = args.report_parser
    if args.html is None and args.markdown is None:
        parser.error("give at least one output: --html FILE, --markdown FILE")
    if args.incident is not None and (args.start is not None or args.end is not None):
        parser.error("--from and --to go with --brand")
    if args.start is not None and args.end is not None and args.end <= args.start:
        parser.error("--to must be after --from")


def _scope(args: argparse.Namespace, count: int) -> str:
    if args.incident is not None:
        return f"Incident {args.incident}, from the crisis log."
    incidents = "1 incident" if count == 1 else f"{count} incidents"
    return f"{incidents} {range_text(args.start, args.end)}, from the crisis log."
