"""What the commands share: argument types, readable input files, rejected records, the
configuration file and its errors, signals, the one-line report of an unreachable Kafka."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeAlias

from buzzwatch.cli import CommandError
from buzzwatch.configuration import ConfigError, load_config
from pipeline.records import Rejections

# A string: argparse's class cannot be subscripted at run time.
SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Run: TypeAlias = Callable[[argparse.Namespace], int]


@contextlib.contextmanager
def configured(path: Path | None) -> Iterator[dict[str, Any]]:
    """The configuration file, read and checked; wrong values read from it then (OSError,
    ValueError: pydantic's errors too) as a ConfigError naming the file: `buzzwatch` prints it
    as `COMMAND: error: ...`, exit 2."""
    try:
        yield load_config(path)
    except ConfigError:
        raise
    except (OSError, ValueError) as error:
        raise ConfigError(f"{path}: {error}" if path else str(error)) from error


def fail(command: str, message: str, status: int = 2) -> int:
    """Say why `command` cannot run (or failed), as every command does; its exit `status`."""
    print(f"{command}: error: {message}", file=sys.stderr)
    return status


def on_stop_signals(stop: Callable[[], None]) -> None:
    """Call `stop` on SIGTERM and SIGINT."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop())


def kafka_errors(run: Run) -> Run:
    """`run`, with a Kafka that cannot be reached (or refuses) said in one line, exit 1."""

    def guarded(args: argparse.Namespace) -> int:
        from kafka.errors import KafkaError

        try:
            return run(args)
        except KafkaError as error:
            return fail(args.command, f"Kafka: {error}", 1)

    return guarded


def utc_time(text: str) -> datetime:
    """An ISO-8601 time argument, in UTC (UTC when it has no offset)."""
    try:
        moment = datetime.fromisoformat(text)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 time: {text!r}") from None
    except OverflowError:
        raise argparse.ArgumentTypeError(f"out of range in UTC: {text!r}") from None


def output_path(*suffixes: str) -> Callable[[str], Path]:
    """An argument type: a path ending in one of `suffixes`."""

    def check(text: str) -> Path:
        path = Path(text)
        if path.suffix.lower() not in suffixes:
            raise argparse.ArgumentTypeError(f"{text}: must end in {' or '.join(suffixes)}")
        return path

    return check


def readable(path: Path) -> Path:
    """`path`, or CommandError saying why it cannot be read (`COMMAND: error: ...`, exit 2)."""
    try:
        with path.open("rb"):
            pass
    except OSError as error:
        raise CommandError(f"{path}: {error.strerror or error}") from error
    return path


def report_rejections(command: str, rejected: Rejections) -> None:
    for line, reason in rejected.first:
        print(f"{command}: line {line}: {reason}", file=sys.stderr)
    if rejected.count > len(rejected.first):
        print(f"{command}: … and {rejected.count - len(rejected.first)} more", file=sys.stderr)


def matched(count: int) -> str:
    return f" ({count} without a brand matched to configured brands)" if count else ""
