"""What the operator commands share: options, exit codes, config loading, the clock.

The exit codes are defined here once, for every command (stable for scripts; the table
is in docs/operations.md and at the end of every command's ``--help``):
0 done, 1 failed, 2 usage or configuration (nothing was read or written), 3 stopped and
resumable, 4 done but records were rejected by Salesforce or skipped as bad data.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from sfrenew.config import AppConfig, load_config
from sfrenew.daemon import known_secrets
from sfrenew.jobs import JobSpec, load_jobs
from sfrenew.logs import configure
from sfrenew.yamlsource import YamlSourceError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2  # usage or configuration: nothing was read or written
EXIT_RESUMABLE = 3
EXIT_DIRTY = 4  # done, but records were rejected or skipped as bad data

# The one table, shown at the end of every command's --help (``\b``: click keeps the
# lines as written) and in docs/operations.md (a test keeps the two equal).
EXIT_CODES = (
    (EXIT_OK, "done"),
    (EXIT_FAILED, "failed: the org could not be used, another run holds the state, or a bug"),
    (EXIT_CONFIG, "usage or configuration mistake; nothing was read or written"),
    (EXIT_RESUMABLE, "stopped and resumable; the resume command is printed"),
    (EXIT_DIRTY, "done, but records were rejected or skipped as bad data (runs show RUN)"),
)
EXIT_CODES_HELP = "\b\nExit codes:\n" + "\n".join(f"  {code}  {text}"
                                                   for code, text in EXIT_CODES)
DEFAULT_CONFIG = "config.example.yaml"
DEFAULT_JOBS_DIR = "jobs"
RESUMABLE = frozenset({"stopped", "interrupted"})

CONFIG_ENV = "SFRENEW_CONFIG"
config_option = click.option(
    "--config", "config_path", default=DEFAULT_CONFIG, show_default=True, envvar=CONFIG_ENV,
    type=click.Path(dir_okay=False),
    help=f"The config file (or ${CONFIG_ENV}; secrets come from the environment).")
jobs_dir_option = click.option(
    "--jobs-dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_JOBS_DIR,
    show_default=True, help="Folder of job files (*.yaml).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")




def fail(message: str, code: int) -> NoReturn:
    """Print ``message`` on stderr (no traceback) and exit with ``code``."""
    click.echo(message, err=True)
    sys.exit(code)


def open_config(path: str) -> AppConfig:
    """Load the config, set up logging with its secrets redacted; exit 2 on mistakes."""
    configure()
    try:
        config = load_config(Path(path))
    except YamlSourceError as exc:
        fail(f"the configuration has mistakes (nothing was run):\n{exc}", EXIT_CONFIG)
    configure(secrets=known_secrets(config))
    return config


def open_jobs(directory: Path) -> list[JobSpec]:
    """Load every job file; exit 2 listing every mistake."""
    try:
        return load_jobs(directory)
    except YamlSourceError as exc:
        fail(f"the job files have mistakes (nothing was scheduled):\n{exc}", EXIT_CONFIG)


def dirty_records(stats: Mapping[str, Any] | None) -> int:
    """Records a finished run left behind: rows Salesforce rejected (``written``) and bad
    records the plan reported and skipped (``plan.dirty``: dirty contracts and record
    problems; runs saved before it was counted have ``plan.problems`` only)."""
    if not stats:
        return 0
    rejected = sum(int(c.get("rejected", 0)) for c in (stats.get("written") or {}).values())
    plan = stats.get("plan") or {}
    return rejected + int(plan.get("dirty", plan.get("problems", 0)))


def exit_code(status: str, stats: Mapping[str, Any] | None = None, *,
              resumable: bool = True) -> int:
    """The process exit code for a run's final status (and, when done, its ``stats``).

    ``resumable=False`` for runs that cannot be resumed (a ``plan``): a stop is a failure.
    """
    if status == "succeeded":
        return EXIT_DIRTY if dirty_records(stats) else EXIT_OK
    return EXIT_RESUMABLE if resumable and status in RESUMABLE else EXIT_FAILED


def when(value: datetime | None) -> str:
    """A timestamp for a table (UTC, to the second), or a dash."""
    return "-" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def jsonable(value: Any) -> Any:
    """``json.dumps`` default: datetimes and paths as text."""
    return value.isoformat() if isinstance(value, datetime) else str(value)
