"""Logging: structlog for sfrenew's own lines, the stdlib's (APScheduler, urllib3)
routed through the same processors, so every line has the same shape and the same
secret redaction.

* JSON lines when the log stream is not a terminal (journald, a container, a file),
  the console renderer on one. Logs go to stderr: stdout carries command results
  (``status --json``, ``jobs list``) and must stay parseable in a pipe.
* ``job`` and ``run_id`` come from contextvars: :func:`bound` binds them for a block,
  so every line a run writes, in any module, carries them.
* :class:`Redactor` replaces known secret values anywhere in a line and the values
  of secret-looking keys, after exceptions are formatted (a traceback can quote an
  argument).
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 6  # shorter values would redact ordinary words
SECRET_KEY = re.compile(
    r"(secret|passw(or)?d|token|authorization|api[_-]?key|private[_-]?key|session[_-]?id"
    r"|credential|cookie|signature|assertion)", re.IGNORECASE)
# Environment variables whose values are secrets whatever the config says.
SECRET_ENV = re.compile(r"(SECRET|PASSWORD|PASSWD|TOKEN|PRIVATE_KEY|API_KEY|CREDENTIAL)",
                        re.IGNORECASE)


class Redactor:
    """A structlog processor: no secret value and no secret-looking key's value leaves.

    Values are matched as substrings (a secret inside a URL or an error message is
    still caught); keys by name (``client_secret``, ``Authorization``,
    ``access_token``…), at any depth of dicts and lists.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Learn more secret values (e.g. once the config is read)."""
        self._secrets |= {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}
        ordered = sorted(self._secrets, key=len, reverse=True)  # longest first
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def scrub(self, value: Any) -> Any:
        """``value`` with secrets replaced (strings, dicts, lists and tuples)."""
        if isinstance(value, str):
            return self._pattern.sub(REDACTED, value) if self._pattern else value
        if isinstance(value, Mapping):
            return {k: REDACTED if isinstance(k, str) and SECRET_KEY.search(k) and v
                    else self.scrub(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub(v) for v in value]
        if isinstance(value, int | float | bool) or value is None:
            return value
        return self.scrub(str(value))

    def __call__(self, logger: WrappedLogger, method: str,  # noqa: ARG002 (processor API)
                 event: EventDict) -> EventDict:
        scrubbed: EventDict = self.scrub(event)
        return scrubbed


REDACTOR = Redactor()
RUN_STARTED = "run_started"  # the runner's first line of a run, the one with its new id


def adopt_run_id(logger: WrappedLogger, method: str,  # noqa: ARG001 (processor API)
                 event: EventDict) -> EventDict:
    """Bind the run id to this context when the runner announces it.

    The runner makes the id inside ``execute``; the caller cannot bind it beforehand.
    Binding it on the ``run_started`` line tags every later line of the run, in every
    module (pull, plan, apply, the gateway), with it. :func:`bound` unbinds it after.
    """
    if event.get("event") == RUN_STARTED and isinstance(event.get("run_id"), str):
        structlog.contextvars.bind_contextvars(run_id=event["run_id"])
    return event



def secrets_from_environment(environ: Mapping[str, str] | None = None) -> set[str]:
    """Values of environment variables named like secrets (``SF_CLIENT_SECRET``…)."""
    env = os.environ if environ is None else environ
    return {value for name, value in env.items() if SECRET_ENV.search(name) and value}


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is *now*: rich's progress display swaps it for
    a proxy that prints lines above the bars instead of through them."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def _use_json(stream: TextIO | _CurrentStderr, json_logs: bool | None) -> bool:
    if json_logs is not None:
        return json_logs
    isatty = getattr(stream, "isatty", None)
    return not (callable(isatty) and isatty())


LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def outcome_level(status: str) -> int:
    """The level of a run's (or job's) final line: a failed run is an error, a stopped or
    interrupted one (resumable) a warning, a succeeded one info."""
    if status == "succeeded":
        return logging.INFO
    return logging.ERROR if status == "failed" else logging.WARNING
_level_override: list[str | None] = [None]  # the command line's --log-level / --quiet


def override_level(level: str | None) -> None:
    """Make every later :func:`configure` use ``level`` (None: each caller's own)."""
    _level_override[0] = level


def configure(*, json_logs: bool | None = None, level: str = "INFO",
              stream: TextIO | _CurrentStderr | None = None,
              secrets: Iterable[str] = ()) -> Redactor:
    """Configure structlog and the stdlib root logger once for this process.

    ``json_logs`` None decides by whether ``stream`` (stderr) is a terminal. Returns the
    process's :class:`Redactor`; add secrets to it once the config names them.
    """
    out = stream or _CurrentStderr()
    level = _level_override[0] or level
    REDACTOR.add(secrets_from_environment())
    REDACTOR.add(secrets)
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        adopt_run_id,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    as_json = _use_json(out, json_logs)
    renderer: Processor = (structlog.processors.JSONRenderer(sort_keys=False) if as_json
                           else structlog.dev.ConsoleRenderer(colors=False))
    # Tracebacks become text before the redactor, on a terminal too: the console
    # renderer would otherwise format exc_info itself, after redaction, and print the
    # secrets an exception message carries.
    final: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                              structlog.processors.format_exc_info, REDACTOR, renderer]
    formatter = structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=final)
    handler: logging.Handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # APScheduler logs every fire, and each skipped one, itself; the scheduler module
    # says the same with the job's name (fire_skipped), so only its errors pass.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,  # tests and reconfiguration see new processors
    )
    return REDACTOR


@contextmanager
def bound(**values: Any) -> Iterator[None]:
    """Bind ``values`` (job, run_id…) to every log line of this thread for the block."""
    tokens = structlog.contextvars.bind_contextvars(**values)
    try:
        yield
    finally:
        if "run_id" not in values:  # adopted from run_started inside the block
            structlog.contextvars.unbind_contextvars("run_id")
        structlog.contextvars.reset_contextvars(**tokens)


def drop_secrets(values: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """``values`` with secret-looking keys redacted (for params saved or printed)."""
    scrubbed: MutableMapping[str, Any] = REDACTOR.scrub(dict(values))
    return scrubbed
