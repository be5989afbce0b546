"""``sfrenew jobs``, ``run``, ``backfill`` and ``status``: the operator's commands."""

from __future__ import annotations

import click


@click.group()
def jobs() -> None:
    """Scheduled jobs declared in jobs/*.yaml."""


@click.command()
def run() -> None:
    """Run the scheduler daemon (being built, issue 7)."""
    raise click.ClickException("the daemon is being built (issue 7)")


@click.command()
def backfill() -> None:
    """Backfill renewals for a window of contract end dates (being built, issue 7)."""
    raise click.ClickException("backfills are being built (issue 7)")


@click.command()
def status() -> None:
    """Watermarks, last runs, dead letters and API allocation (being built, issue 7)."""
    raise click.ClickException("status is being built (issue 7)")
