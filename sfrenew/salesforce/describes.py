"""Object describes kept across runs, so a run that reads nothing new costs no describe.

A describe changes when an admin changes the org's fields, which sfrenew cannot see
without asking; what it can see is its own mapping. So a saved describe is used while
it was fetched under the same key (a digest of the mapping, the API version and the
org) and less than ``max_age`` ago by the run clock (a day by default); otherwise it is
fetched again and saved over the old one. A file that cannot be read, or was written
by another format version, is a miss, never an error: the describe is fetched.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

FORMAT_VERSION = 1
DEFAULT_MAX_AGE = timedelta(days=1)


class DescribeCache(Protocol):
    """Where the gateway keeps describes between runs."""

    def get(self, sobject: str) -> dict[str, Any] | None:
        """The saved describe of ``sobject`` if it is still good, else None."""

    def put(self, sobject: str, describe: dict[str, Any]) -> None:
        """Save a describe just fetched."""


@dataclass(frozen=True)
class FileDescribeCache:
    """One JSON file per object in ``directory``; ``now`` is the run clock's time."""

    directory: Path
    key: str
    now: datetime
    max_age: timedelta = DEFAULT_MAX_AGE

    def _path(self, sobject: str) -> Path:
        return self.directory / f"{sobject.lower()}.json"

    def get(self, sobject: str) -> dict[str, Any] | None:
        """The saved describe, if written under this key less than ``max_age`` ago."""
        try:
            saved = json.loads(self._path(sobject).read_bytes(), parse_float=Decimal)
            if saved.get("version") != FORMAT_VERSION or saved.get("key") != self.key:
                return None
            fetched = datetime.fromisoformat(str(saved["fetched_at"]))
            describe = saved["describe"]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        if not isinstance(describe, dict) or fetched.tzinfo is None:
            return None
        if not timedelta(0) <= self.now - fetched < self.max_age:
            return None  # too old, or from the future (a clock set back): fetch again
        return describe

    def put(self, sobject: str, describe: dict[str, Any]) -> None:
        """Write the describe atomically (a crash leaves the old file or the new one)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        body = json.dumps({"version": FORMAT_VERSION, "key": self.key,
                           "fetched_at": self.now.isoformat(), "describe": describe},
                          default=_number)
        handle, tmp = tempfile.mkstemp(dir=self.directory, prefix=".describe-")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(body)
            os.replace(tmp, self._path(sobject))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _number(value: Any) -> Any:
    # Describes are decoded with Decimal floats; written back as JSON numbers.
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"cannot save a {type(value).__name__} in a describe")
