"""``sfrenew rules ...``: check a rule's number without an org (placeholder)."""

from __future__ import annotations

import click


@click.group()
def rules() -> None:
    """Check renewal rules without an org."""
