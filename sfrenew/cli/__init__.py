"""The ``sfrenew`` command line. Click lives only in this package."""

from __future__ import annotations

import sys
from typing import Any

import click

from sfrenew import __version__
from sfrenew.cli import localorg as _localorg
from sfrenew.cli import mappings as _mappings
from sfrenew.cli import ops as _ops
from sfrenew.cli import report as _report
from sfrenew.cli import rules as _rules
from sfrenew.cli import rules_lines as _rules_lines
from sfrenew.cli import run as _run
from sfrenew.cli import worker as _worker
from sfrenew.cli._ops_common import EXIT_CODES_HELP
from sfrenew.clock import ClockShiftError, clock_shift
from sfrenew.logs import LEVELS, override_level
from sfrenew.store import StoreConfigurationError, StoreUnavailable


class _Main(click.Group):
    """The command group; a state store or state_dir sfrenew cannot use, from any command,
    is a message naming the setting (exit 2; exit 1 when the database server is away),
    never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StoreUnavailable as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)
        except StoreConfigurationError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sfrenew")
@click.option("--log-level", type=click.Choice(LEVELS, case_sensitive=False), default=None,
              envvar="SFRENEW_LOG_LEVEL",
              help="Log lines at this level and above, on stderr (default INFO; the demo "
                   "WARNING). Also $SFRENEW_LOG_LEVEL.")
@click.option("--quiet", "-q", is_flag=True, help="Only warnings and errors (--log-level "
                                                  "WARNING); results on stdout are unchanged.")
def main(log_level: str | None, quiet: bool) -> None:
    """sfrenew: renewal automation for Salesforce."""
    override_level("WARNING" if quiet and log_level is None else
                   log_level.upper() if log_level else None)
    try:  # a mistyped shift is a configuration error, reported before anything runs
        clock_shift()
    except ClockShiftError as err:
        click.echo(str(err), err=True)
        sys.exit(2)


main.add_command(_localorg.localorg)
main.add_command(_rules.rules)
_rules.rules.add_command(_rules_lines.lines)
main.add_command(_mappings.mappings)
main.add_command(_ops.jobs)
main.add_command(_ops.run)
main.add_command(_ops.backfill)
main.add_command(_ops.status)
main.add_command(_run.plan)
main.add_command(_run.apply)
main.add_command(_run.rollback)
main.add_command(_run.runs)
main.add_command(_run.demo)
main.add_command(_report.report)
main.add_command(_worker.worker)
main.add_command(_worker.queue)


def _with_exit_codes(command: click.Command) -> None:
    """End every command's ``--help`` with the one exit-code table (docs/operations.md)."""
    command.epilog = EXIT_CODES_HELP if not command.epilog \
        else f"{command.epilog}\n\n{EXIT_CODES_HELP}"
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _with_exit_codes(sub)


_with_exit_codes(main)
