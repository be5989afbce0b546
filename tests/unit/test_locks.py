"""Locks: the file lock refuses a second holder with the PID of the first; every lock
raises the one Busy."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sfrenew.config import load_config
from sfrenew.locks import Busy, FileLock, Lock
from sfrenew.runner import RUN_LOCK, RunRequest, Step, execute
from sfrenew.store import open_store
from tests.clock import now


def test_second_holder_is_refused_with_the_pid(tmp_path: Path) -> None:
    path = tmp_path / "state" / "daemon.lock"
    with FileLock(path, purpose="the sfrenew daemon"):
        assert path.read_text().strip() == str(os.getpid())
        with pytest.raises(Busy) as info:
            FileLock(path, purpose="the sfrenew daemon").acquire()
        assert info.value.pid == os.getpid()
        assert f"process {os.getpid()} holds {path} (the sfrenew daemon)" in str(info.value)
    # Released: the PID is cleared and the next holder gets it.
    assert path.read_text() == ""
    with FileLock(path, purpose="the sfrenew daemon"):
        pass


def test_lock_held_by_another_process(tmp_path: Path) -> None:
    path = tmp_path / "daemon.lock"
    code = ("import sys, time; from pathlib import Path; from sfrenew.locks import FileLock;"
            f"lock = FileLock(Path({str(path)!r}), purpose='x').acquire();"
            "print('locked', flush=True); sys.stdin.readline()")
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "locked"
        with pytest.raises(Busy) as info:
            FileLock(path, purpose="x").acquire()
        assert info.value.pid == child.pid
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(10)
        child.stdout.close()  # type: ignore[union-attr]
    # The child exited: the kernel dropped its lock.
    with FileLock(path, purpose="x"):
        pass


def test_one_lock_interface_and_one_busy_error(tmp_path: Path) -> None:
    file_lock: Lock = FileLock(tmp_path / "run.lock", purpose="an sfrenew run",
                               busy=f"another sfrenew run is using {tmp_path}/{{x}}")
    with open_store(f"sqlite:///{tmp_path / 'state.sqlite3'}") as store:
        advisory: Lock = store.lock("sfrenew-run")
        for lock, message in ((file_lock, f"another sfrenew run is using {tmp_path}/{{x}}"),
                              (advisory, "lock 'sfrenew-run' is held in this process")):
            with lock.hold(), pytest.raises(Busy, match=re.escape(message)), lock.hold():
                pytest.fail("two holders of one lock")
            with lock.hold():  # released: free again
                pass


def test_a_second_run_on_the_same_state_is_busy(tmp_path: Path) -> None:
    config = load_config(Path(__file__).resolve().parents[2] / "config.example.yaml")
    state = tmp_path / "state"
    config = dataclasses.replace(config, state_dir=state,
                                 store_url=f"sqlite:///{state / 'sfrenew.sqlite3'}")
    with FileLock(state / RUN_LOCK, purpose="a backfill"), \
            pytest.raises(Busy, match=f"^{re.escape(f'another sfrenew run is using {state}')}$"):
        execute(config, RunRequest(job="main", steps=(Step.PULL,)), clock=now)
