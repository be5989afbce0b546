"""What the operator commands share: options, exit codes, config loading, the clock.

Exit codes (documented in docs/operations.md and stable for scripts):
0 done, 1 failure, 2 configuration error (nothing was read or written),
3 stopped but resumable (cap, daily allocation, stop signal, Salesforce kept failing).
"""

from __future__ import annotations

import sys
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
EXIT_CONFIG = 2
EXIT_RESUMABLE = 3
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


def exit_code(status: str) -> int:
    """The process exit code for a run's final status."""
    if status == "succeeded":
        return EXIT_OK
    return EXIT_RESUMABLE if status in RESUMABLE else EXIT_FAILED


def when(value: datetime | None) -> str:
    """A timestamp for a table (UTC, to the second), or a dash."""
    return "-" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def jsonable(value: Any) -> Any:
    """``json.dumps`` default: datetimes and paths as text."""
    return value.isoformat() if isinstance(value, datetime) else str(value)
