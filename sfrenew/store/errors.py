"""Errors raised by the state store, typed by what the caller can do about them.

* :class:`StoreConfigurationError` and its subclasses mean the configured
  ``store.url`` points at something this sfrenew cannot use: the CLI shows the
  message without a traceback and the operator fixes the configuration.
* :class:`RunStateError`, :class:`UnknownRun` and :class:`UnknownIntent` mean the
  caller asked for something the store's contents do not allow (a programming
  error in the run wiring, or a run id typed wrongly on the command line).

A lock another replica holds is :class:`sfrenew.locks.Busy`, the one "busy" error.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class for every error the state store raises on purpose."""


class StoreConfigurationError(StoreError):
    """The store URL points at a database this sfrenew cannot use as it is."""


class SchemaTooNew(StoreConfigurationError):
    """The database was written by a newer sfrenew; refusing to touch it."""

    def __init__(self, *, where: str, found: int, supported: int) -> None:
        super().__init__(
            f"state store at {where} has schema version {found}; this sfrenew "
            f"understands up to {supported} — upgrade sfrenew or point store.url at "
            "another database"
        )
        self.found = found
        self.supported = supported


class StoreMissing(StoreConfigurationError):
    """Opened with ``create=False`` and there is no state store at the URL."""


class StoreUnavailable(StoreError):
    """The database server cannot be reached (down, refused, DNS): nothing was done."""


class MigrationError(StoreConfigurationError):
    """The schema cannot be brought forward (no step registered, or a step failed)."""


class UnknownRun(StoreError):
    """No run with that id in the store."""


class RunStateError(StoreError):
    """The run is not in a state that allows the requested transition."""


class UnknownIntent(StoreError):
    """A write result names a ledger intent that was never recorded."""
