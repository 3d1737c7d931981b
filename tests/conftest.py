"""Shared pytest fixtures for the buzzwatch test suite."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver

# tests/__init__.py makes pytest's default "prepend" import mode put the rootdir on sys.path.
from tests.broker.kafka_broker import KafkaBroker, KafkaBrokerError

BOOTSTRAP_ENV = "BUZZWATCH_KAFKA_BOOTSTRAP"
BROWSER_SECONDS = 30


@pytest.fixture(scope="session")
def kafka_broker(pytestconfig: pytest.Config) -> Iterator[KafkaBroker | None]:
    """The local test broker, or None when ``$BUZZWATCH_KAFKA_BOOTSTRAP`` names another one.

    The local broker is provisioned from Maven Central and started once per session; failing
    to do so fails the requesting tests (never skips them).
    """
    if os.environ.get(BOOTSTRAP_ENV):
        yield None
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
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker: KafkaBroker | None) -> str:
    """Bootstrap address of a real Kafka broker: ``$BUZZWATCH_KAFKA_BOOTSTRAP`` or the local one."""
    return kafka_broker.bootstrap if kafka_broker else os.environ[BOOTSTRAP_ENV]


@pytest.fixture(scope="session")
def kafka_sasl_bootstrap(kafka_broker: KafkaBroker | None) -> str:
    """The local broker's SASL_PLAINTEXT listener (PLAIN; tests.broker.kafka_broker.SASL_*)."""
    if kafka_broker is None:
        pytest.fail(
            f"the SASL tests need the suite's own broker: unset {BOOTSTRAP_ENV}", pytrace=False
        )
    return kafka_broker.sasl_bootstrap


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    """Headless Chromium through chromedriver; missing, it fails under CI and skips elsewhere."""
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver is None:
        reason = "needs `chromium` and `chromedriver` (Debian: chromium, chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1200,900"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    session = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    session.set_page_load_timeout(BROWSER_SECONDS)
    session.set_script_timeout(BROWSER_SECONDS)
    try:
        yield session
    finally:
        session.quit()
