"""The configuration file as a whole: its tables and keys checked against the models that
read them when the file is read, whichever command reads it. A misspelt table or key is an
error naming the file, the table and the key, not a default silently run. (Values are
checked by the command that uses the table: some need the environment, tokens say.)"""

from __future__ import annotations

import difflib
import tomllib
import types
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from pipeline.settings import DetectionSettings
from pipeline.settings import load_config as read_toml


def tables() -> dict[str, Any]:
    """Each table's model; dict[str, Model] for tables of named tables, dict[str, str] for
    free keys. (Imported when a file is read: the services' models bring in their clients,
    which a command run without a file does not need to load.)"""
    from consumers.settings import DeskSettings, KafkaSettings, MetricsSettings, NotifySettings
    from pipeline.brands import BrandTerms
    from producers.settings import HookSettings, IngestSettings

    return {
        "detection": DetectionSettings,
        "brands": dict[str, BrandTerms],
        "holding_statements": dict[str, str],
        "kafka": KafkaSettings,
        "metrics": MetricsSettings,
        "ingest": IngestSettings,
        "webhooks": dict[str, HookSettings],
        "desk": DeskSettings,
        "notify": NotifySettings,
    }


class ConfigError(ValueError):
    """A configuration file that is missing, not TOML, or not what buzzwatch reads."""


def load_config(path: str | Path | None) -> dict[str, Any]:
    """Read and check a TOML configuration file; no path means an empty configuration."""
    if path is None:
        return {}
    try:
        config = read_toml(path)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    return checked(config, str(path))


def checked(config: dict[str, Any], where: str = "configuration") -> dict[str, Any]:
    """`config` itself once its tables and keys are known ones; ConfigError naming `where`,
    the table and the key otherwise."""
    models = tables()
    for table, value in config.items():
        if table not in models:
            near = difflib.get_close_matches(table, models, n=1)
            hint = f"did you mean [{near[0]}]?" if near else f"tables: {', '.join(models)}"
            raise ConfigError(f"{where}: unknown table [{table}] ({hint})")
        for inside, item in _tables_in(models[table], value, table):
            if not isinstance(item, Mapping):
                raise ConfigError(f"{where}: [{inside}] must be a table, not {item!r}")
        for inside, key, known in _unknown(models[table], value, table):
            near = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {near[0]}?)" if near else ""
            raise ConfigError(f"{where}: [{inside}] unknown key {key}{hint}")
    return config


def _tables_in(kind: Any, value: Any, where: str) -> Iterator[tuple[str, Any]]:
    """(name, value) of the table `value` and, for a table of named tables, of each of them."""
    yield where, value
    item_kind = typing.get_args(kind)[-1] if typing.get_origin(kind) is dict else None
    named = isinstance(item_kind, type) and issubclass(item_kind, BaseModel)
    if named and isinstance(value, Mapping):
        for name, item in value.items():
            yield f'{where}."{name}"', item


def _unknown(kind: Any, value: Any, where: str) -> Iterator[tuple[str, str, list[str]]]:
    """(table, key, the table's keys) for each key of `value` that `kind` does not have."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if isinstance(kind, type) and issubclass(kind, BaseModel) and isinstance(value, Mapping):
        fields = kind.model_fields
        for key, item in value.items():
            if key in fields:
                yield from _unknown(fields[key].annotation, item, f"{where}.{key}")
            elif kind is not DetectionSettings or key != "brands":  # brands: per-brand overrides
                yield where, key, list(fields)
        if kind is DetectionSettings:
            for brand, overrides in value.get("brands", {}).items():
                yield from _unknown(kind, overrides, f'{where}.brands."{brand}"')
    elif origin is dict and isinstance(value, Mapping):
        for key, item in value.items():
            yield from _unknown(args[1], item, f'{where}."{key}"')
    elif origin in (tuple, list) and isinstance(value, list):
        for number, item in enumerate(value):
            yield from _unknown(args[0], item, f"{where}[{number}]")
    elif origin in (typing.Union, types.UnionType):
        for arg in args:
            yield from _unknown(arg, value, where)
