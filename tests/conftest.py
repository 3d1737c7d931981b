"""Shared pytest fixtures for the buzzwatch test suite."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest

# tests/__init__.py makes pytest's default "prepend" import mode put the rootdir on sys.path.
from tests.broker.kafka_broker import KafkaBroker, KafkaBrokerError

BOOTSTRAP_ENV = "BUZZWATCH_KAFKA_BOOTSTRAP"


@pytest.fixture(scope="session")
def kafka_bootstrap(pytestconfig: pytest.Config) -> Iterator[str]:
    """Bootstrap address of a real Kafka broker: ``$BUZZWATCH_KAFKA_BOOTSTRAP`` or a local one.

    The local broker is provisioned from Maven Central and started once per session; failing
    to do so fails the requesting tests (never skips them).
    """
    existing = os.environ.get(BOOTSTRAP_ENV)
    if existing:
        yield existing
        return
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")
    show_progress = capture.global_and_fixture_disabled() if capture else contextlib.nullcontext()
    broker = KafkaBroker()
    error: Exception | None = None
    try:
        with show_progress:
            broker.start()
    except (KafkaBrokerError, OSError) as exc:
        error = exc
    if error is not None:  # outside the except block, so the report shows just the reason
        pytest.fail(f"could not start the Kafka test broker: {error}", pytrace=False)
    try:
        yield broker.bootstrap
    finally:
        broker.stop()
