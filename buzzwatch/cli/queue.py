"""`buzzwatch queue`: a desk's incidents and response queue, and a reply's status, over its
HTTP API."""

from __future__ import annotations

import argparse
import json
import os
import urllib.request
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import quote

from buzzwatch.cli.common import SubParsers, fail

TOKEN_ENV = "BUZZWATCH_DESK_TOKEN"
DEFAULT_URL = "http://127.0.0.1:8090"
REQUEST_SECONDS = 30.0


def add_command(commands: SubParsers) -> None:
    queue = commands.add_parser(
        "queue",
        help="list incidents, show one's response queue, or set a reply status",
        description="Talks to `buzzwatch desk` over HTTP; the token is read from "
        f"${TOKEN_ENV}. Without INCIDENT: the open incidents (--all: every one).",
    )
    queue.add_argument("incident", nargs="?", help="an incident id")
    queue.add_argument("--url", default=DEFAULT_URL, help=f"the desk (default {DEFAULT_URL})")
    queue.add_argument("--all", action="store_true", help="every incident, not only open ones")
    queue.add_argument("--mark", metavar="PERSON", help="set this person's status (source:id)")
    queue.add_argument("--status", choices=["replied", "skipped", "open"], help="with --mark")
    queue.add_argument("--note", default="", help="with --mark: a note for the log")
    queue.add_argument("--json", action="store_true", help="print the desk's JSON answer")
    queue.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    token = os.environ.get(TOKEN_ENV, "")
    if not token:
        return fail("queue", f"set ${TOKEN_ENV} to one of the desk's tokens")
    if (args.mark is None) != (args.status is None):
        return fail("queue", "--mark PERSON and --status go together")
    if args.mark is not None and args.incident is None:
        return fail("queue", "--mark needs the INCIDENT")
    base = args.url.rstrip("/")
    if args.incident is None:
        path, body = "/v1/incidents" + ("" if args.all else "?state=open"), None
    elif args.mark is None:
        path, body = f"/v1/incidents/{quote(args.incident)}/queue", None
    else:
        path = f"/v1/incidents/{quote(args.incident)}/queue/{quote(args.mark, safe='')}"
        body = {"status": args.status, "note": args.note}
    try:
        answer = _call(base + path, token, body)
    except (HTTPError, URLError, OSError, ValueError) as error:
        return fail("queue", _reason(error), 1)
    print(json.dumps(answer, ensure_ascii=False, indent=2) if args.json else _text(answer))
    return 0


def _call(url: str, token: str, body: dict[str, Any] | None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="GET" if data is None else "POST")
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=REQUEST_SECONDS) as response:
        return json.loads(response.read())


def _reason(error: Exception) -> str:
    if isinstance(error, HTTPError):
        try:
            return f"{error.code}: {json.loads(error.read()).get('error')}"
        except ValueError:
            return f"{error.code} {error.reason}"
    return str(getattr(error, "reason", error))


def _text(answer: dict[str, Any]) -> str:
    """A readable rendering of the desk's answer."""
    if "incidents" in answer:
        lines = [
            f"{i['id']}  {i['brand']}  opened {i['opened_at']}  "
            f"{'resolved ' + i['resolved_at'] if i['resolved_at'] else 'OPEN'}"
            f"{'  CRITICAL' if i['critical'] else ''}  queue: "
            + ", ".join(f"{n} {status}" for status, n in i["queue"].items())
            for i in answer["incidents"]
        ]
        return "\n".join(lines) or "no incident"
    if "queue" in answer:
        lines = [f"{answer['brand']} ({answer['incident']}): {len(answer['queue'])} people"]
        for item in answer["queue"]:
            flags = ("follows the brand " if item["follows_brand"] else "") + (
                "TROLL? do not feed " if item["troll_suspected"] else ""
            )
            lines.append(
                f"[{item['status']:<7}] {item['person']}  reach {item['reach']}  {flags}"
                f"\n          {item['last_text'][:120]}\n          {item['last_url'] or ''}"
            )
        return "\n".join(lines)
    return f"{answer['person']}: {answer['status']} (log entry {answer['logged']})"
