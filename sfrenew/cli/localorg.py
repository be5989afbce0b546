"""``sfrenew localorg ...`` and ``sfrenew demo`` (placeholder until the server lands)."""

from __future__ import annotations

import click


@click.group()
def localorg() -> None:
    """The embedded Salesforce-compatible org."""


@click.command()
def demo() -> None:
    """Start the local org, seed it and print what is in it."""
    raise click.ClickException("the local org is not built yet")
