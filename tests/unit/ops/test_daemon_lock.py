"""The state-dir lock: a second holder is refused with the PID of the first."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sfrenew.locks import Busy, FileLock


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
