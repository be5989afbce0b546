"""Logging: JSON off a terminal, contextvars on every line, secrets never written."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from sfrenew.logs import (
    REDACTED,
    Redactor,
    bound,
    configure,
    override_level,
    secrets_from_environment,
)

SECRET = "s3cr3t-Value-42"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


REDACTIONS = [
    ("known value in a message", {"event": f"login failed for {SECRET}"},
     {"event": f"login failed for {REDACTED}"}),
    ("known value nested", {"event": "x", "request": {"body": [f"a={SECRET}"]}},
     {"event": "x", "request": {"body": [f"a={REDACTED}"]}}),
    ("secret-looking keys", {"event": "x", "client_secret": "abc", "Authorization": "Bearer q",
                             "access_token": "t", "password": "p", "api_calls": 3},
     {"event": "x", "client_secret": REDACTED, "Authorization": REDACTED,
      "access_token": REDACTED, "password": REDACTED, "api_calls": 3}),
    ("empty secret key is left as is", {"event": "x", "password": None},
     {"event": "x", "password": None}),
    ("ordinary values untouched", {"event": "run_finished", "run_id": "r-1", "pulled": 12,
                                   "ok": True, "rate": 1.5},
     {"event": "run_finished", "run_id": "r-1", "pulled": 12, "ok": True, "rate": 1.5}),
]


@pytest.mark.parametrize(("label", "event", "expected"), REDACTIONS,
                         ids=[r[0] for r in REDACTIONS])
def test_redactor(label: str, event: dict[str, object], expected: dict[str, object]) -> None:
    redactor = Redactor([SECRET, "ab"])  # "ab" is too short to be treated as a secret
    assert redactor(None, "info", event) == expected


def test_secrets_from_environment() -> None:
    env = {"SF_CLIENT_SECRET": "cs-123456", "DB_PASSWORD": "pw-123456", "HOME": "/root",
           "SF_TOKEN": ""}
    assert secrets_from_environment(env) == {"cs-123456", "pw-123456"}


def test_json_lines_with_context_and_redaction(restore_logging: None) -> None:
    out = io.StringIO()  # not a terminal: JSON
    configure(stream=out, secrets=[SECRET])
    log = structlog.get_logger("sfrenew.test")
    with bound(job="renewals", run_id="r-1"):
        log.info("run_finished", pulled=3, note=f"token {SECRET}")
        logging.getLogger("urllib3").warning("GET /?secret=%s", SECRET)
        try:
            raise ValueError(SECRET)
        except ValueError:
            log.exception("boom")
    log.info("after")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert SECRET not in out.getvalue()
    first, foreign, failure, after = lines
    assert (first["event"], first["job"], first["run_id"], first["pulled"]) == \
        ("run_finished", "renewals", "r-1", 3)
    assert first["note"] == f"token {REDACTED}"
    assert foreign["job"] == "renewals"
    assert REDACTED in foreign["event"]
    assert "ValueError" in failure["exception"]
    assert "job" not in after
    assert first["level"] == "info"
    assert first["timestamp"].endswith("Z")


def test_console_renderer_when_forced(restore_logging: None) -> None:
    out = io.StringIO()
    configure(stream=out, json_logs=False, secrets=[SECRET])
    structlog.get_logger("t").info("hello", value=SECRET)
    text = out.getvalue()
    assert "hello" in text
    assert SECRET not in text
    assert not text.startswith("{")


def test_console_tracebacks_are_redacted(restore_logging: None) -> None:
    out = io.StringIO()
    configure(stream=out, json_logs=False, secrets=[SECRET])
    try:
        raise RuntimeError(f"login failed with {SECRET}")
    except RuntimeError:
        structlog.get_logger("t").exception("job_failed")
        logging.getLogger("urllib3").exception("boom")
    text = out.getvalue()
    assert "RuntimeError" in text
    assert "job_failed" in text
    assert SECRET not in text


@pytest.mark.parametrize(("status", "level"), [
    ("succeeded", "info"), ("failed", "error"), ("stopped", "warning"),
    ("interrupted", "warning")])
def test_a_runs_last_line_has_the_level_of_its_outcome(status: str, level: str) -> None:
    # Failed runs were logged at info, so a log filter on errors missed them.
    from structlog.testing import capture_logs  # noqa: PLC0415

    import sfrenew.logs  # noqa: PLC0415

    with capture_logs() as logs:
        structlog.get_logger().log(sfrenew.logs.outcome_level(status), "run_finished",
                                   status=status)
    assert logs == [{"event": "run_finished", "status": status, "log_level": level}]


@pytest.mark.parametrize(("args", "level"), [
    ([], "INFO"), (["--quiet"], "WARNING"), (["--log-level", "debug"], "DEBUG"),
    (["-q", "--log-level", "ERROR"], "ERROR")])
def test_log_level_and_quiet_set_every_configure(args: list[str], level: str,
                                                tmp_path: Path) -> None:
    from click.testing import CliRunner  # noqa: PLC0415

    from sfrenew.cli import main  # noqa: PLC0415

    result = CliRunner().invoke(main, [*args, "jobs", "check", "--jobs-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    configure(level="INFO")  # what each command does: the command line's level wins
    assert logging.getLogger().level == getattr(logging, level)
    override_level(None)
