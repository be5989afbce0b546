"""Helpers for the daemon and backfill integration tests: a private seeded local org,
a config pointing at it, and an ``sfrenew`` subprocess whose output is collected.

The org runs in the test process; the commands under test run as real subprocesses
(``python -m sfrenew``), as an operator or systemd would start them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sfrenew.localorg.app import LocalOrg
from sfrenew.localorg.seed import seed_book
from tests.clock import today

REPO = Path(__file__).resolve().parents[2]
MAPPING = REPO / "mappings" / "standard.yaml"


@contextmanager
def seeded_org(data_dir: Path, *, contracts: int, **options: Any) -> Iterator[LocalOrg]:
    """A started local org holding a seeded book of ``contracts`` contracts."""
    org = LocalOrg(data_dir, **options)
    org.start()
    try:
        if not org.store.counts().get("Contract"):
            seed_book(org.store, contracts=contracts, seed=7, today=today())
        yield org
    finally:
        org.stop()


def write_config(folder: Path, org: LocalOrg, *, salesforce: str | None = None,
                 run: str = "") -> Path:
    """A config for ``org`` with its state under ``folder/state``."""
    sf = salesforce or (f"  target: local\n  local_data_dir: {org.data_dir}\n"
                        "  bulk_poll_seconds: 0.1\n")
    path = folder / "config.yaml"
    path.write_text(f"salesforce:\n{sf}state_dir: {folder / 'state'}\nmappings: {MAPPING}\n"
                    + run, encoding="utf-8")
    return path


def write_job(folder: Path, name: str, text: str) -> Path:
    """``folder/name.yaml`` with ``text``; the folder is created."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def sfrenew_env(**extra: str) -> dict[str, str]:
    """The environment for a subprocess: this interpreter's, unbuffered."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("REQUESTS_CA_BUNDLE", None)  # only the tests that want it set it
    env.update(extra)
    return env


class Process:
    """``sfrenew ARGS`` in the background; stdout and stderr lines are collected."""

    def __init__(self, args: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> None:
        self.popen = subprocess.Popen([sys.executable, "-m", "sfrenew", *args], cwd=cwd,
                                      env=env or sfrenew_env(), stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [threading.Thread(target=self._read, args=(s, into), daemon=True)
                         for s, into in ((self.popen.stdout, self.stdout),
                                         (self.popen.stderr, self.stderr))]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: Any, into: list[str]) -> None:
        for line in stream:
            into.append(line.rstrip("\n"))
        stream.close()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def events(self) -> list[dict[str, Any]]:
        """The JSON log lines so far (stderr is not a terminal: JSON)."""
        out = []
        for line in list(self.stderr):
            if line.startswith("{"):
                out.append(json.loads(line))
        return out

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], bool], *,
                 timeout: float = 60) -> list[dict[str, Any]]:
        """Poll the log lines until ``predicate`` holds (or fail with the output)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            events = self.events()
            if predicate(events):
                return events
            if self.popen.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError("condition not met; output:\n" + self.output())

    def signal(self, sig: signal.Signals) -> None:
        self.popen.send_signal(sig)

    def finish(self, *, timeout: float = 120) -> int:
        """Wait for the exit; join the readers; the exit code."""
        code = self.popen.wait(timeout)
        for reader in self._readers:
            reader.join(10)
        return code

    def kill(self) -> None:
        """``kill -9``, then reap."""
        if self.popen.poll() is None:
            self.popen.kill()
        self.finish()

    def output(self) -> str:
        return "\n".join([*self.stdout, *self.stderr])


def run_sfrenew(args: list[str], *, cwd: Path, env: dict[str, str] | None = None,
                timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``sfrenew ARGS`` to completion, output captured."""
    return subprocess.run([sys.executable, "-m", "sfrenew", *args], cwd=cwd,
                          env=env or sfrenew_env(), capture_output=True, text=True,
                          timeout=timeout, check=False)


def named(events: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """The log lines whose event is ``name``."""
    return [e for e in events if e.get("event") == name]
