"""The `buzzwatch` command line."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from buzzwatch.configuration import ConfigError

LOG_LEVEL_ENV = "BUZZWATCH_LOG_LEVEL"
LOG_LEVELS = ("debug", "info", "warning", "error")
# The commands, each added by its module of buzzwatch.cli. A module is imported only when
# its command is asked for, or for the full help: the commands' own imports (Kafka, the
# evaluations, numpy, the report renderers) are heavy, and `replay` needs none of them.
COMMANDS = (
    *("demo", "replay", "produce", "ingest", "follow", "detect", "topics", "skip", "notify"),
    *("generate", "score", "schema", "backtest", "evaluate", "desk", "queue", "report"),
)


class CommandError(Exception):
    """A command that cannot run as asked (a file it cannot read...): `COMMAND: error: ...`,
    exit 2."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `buzzwatch` console script."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    parser = parser_for(command_of(arguments))
    args = parser.parse_args(arguments)
    if args.log_level not in LOG_LEVELS:
        parser.error(f"${LOG_LEVEL_ENV} is {args.log_level!r}: give one of {', '.join(LOG_LEVELS)}")
    _set_up_logging(args.log_level)
    try:
        return int(args.run(args))
    except (ConfigError, CommandError) as error:
        print(f"{args.command}: error: {error}", file=sys.stderr)
        return 2


def command_of(argv: Sequence[str]) -> str | None:
    """The command `argv` asks for: its first word, after `--log-level` if given; None when
    another option comes first (`-h`: the full help)."""
    words = iter(argv)
    for word in words:
        if word == "--log-level":
            next(words, None)
        elif word.startswith("--log-level="):
            continue
        else:
            return None if word.startswith("-") else word
    return None


def parser_for(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; given a known `command`, only its module is imported."""
    parser = argparse.ArgumentParser(prog="buzzwatch", description=__doc__)
    parser.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        default=os.environ.get(LOG_LEVEL_ENV, "info").lower(),
        help=f"default: ${LOG_LEVEL_ENV}, else info",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND", dest="command")
    for name in [command] if command in COMMANDS else COMMANDS:
        importlib.import_module(f"buzzwatch.cli.{name}").add_command(commands)
    return parser


def _set_up_logging(level: str) -> None:
    """Log lines with their level, at `level`; the Kafka client's own lines at `warning` or
    above unless `debug` is asked for (at `info` they are most of the output)."""
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    if level != "debug":
        logging.getLogger("kafka").setLevel(max(logging.WARNING, logging.getLogger().level))
