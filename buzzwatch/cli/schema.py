"""`buzzwatch schema`: the JSON Schemas of the mention and alert-event contracts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from buzzwatch.cli.common import SubParsers


def add_command(commands: SubParsers) -> None:
    sc = commands.add_parser(
        "schema", help="print a contract's JSON Schema (mention, alert-event), or write them all"
    )
    sc.add_argument("name", nargs="?", choices=["mention", "alert-event"])
    sc.add_argument("--write", type=Path, metavar="DIR", help="write every schema file into DIR")
    sc.set_defaults(run=run, schema_parser=sc)


def run(args: argparse.Namespace) -> int:
    from pipeline.contracts import json_schemas, schema_text

    schemas = json_schemas()
    if args.write:
        args.write.mkdir(parents=True, exist_ok=True)
        for file_name, schema in schemas.items():
            (args.write / file_name).write_text(schema_text(schema), encoding="utf-8")
            print(f"wrote {args.write / file_name}")
        return 0
    if args.name is None:
        args.schema_parser.error("give a NAME (mention, alert-event) or --write DIR")
    sys.stdout.write(schema_text(schemas[f"{args.name}.schema.json"]))
    return 0
