"""Progress of a run for people: rich bars on a terminal, plain log lines otherwise.

Both implement the runner's ``ProgressSink`` (start, advance, finish per phase:
pull, plan, apply). On a terminal each phase gets a bar with done/total, the rate
and the time left; in a log (a service, CI, a pipe) a ``progress`` line per phase
at most every ``every_s`` seconds, with the same figures, and one when it ends.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TextIO

import structlog
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from sfrenew.runner import ProgressSink

PROGRESS = "progress"
DEFAULT_EVERY_S = 10.0


class RateColumn(ProgressColumn):
    """Units per second (``412.3/s``): recent speed while running, the average once
    finished, ``…`` before there is any."""

    def render(self, task: Task) -> Text:
        """The task's speed."""
        speed = task.speed
        if task.finished and task.elapsed:
            speed = task.completed / task.elapsed
        return Text("…/s" if speed is None else f"{speed:,.1f}/s", style="progress.data.speed")


class EtaColumn(ProgressColumn):
    """``ETA 0:01:23`` while running with a known total, ``ETA ?`` without one (a pull
    does not know its row count up front), ``done`` at the end."""

    def render(self, task: Task) -> Text:
        """Time left, as far as it is known."""
        if task.finished:
            return Text("done    ", style="progress.elapsed")
        left = task.time_remaining
        if left is None:
            return Text("ETA ?   ", style="progress.remaining")
        minutes, seconds = divmod(int(left), 60)
        hours, minutes = divmod(minutes, 60)
        return Text(f"ETA {hours}:{minutes:02d}:{seconds:02d}", style="progress.remaining")


class RichProgress:
    """A ``ProgressSink`` drawing one rich bar per phase on a terminal."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description:<6}"), BarColumn(), MofNCompleteColumn(),
            RateColumn(), EtaColumn(), TextColumn("elapsed"), TimeElapsedColumn(),
            console=console, transient=False, refresh_per_second=4)
        self._tasks: dict[str, TaskID] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def start(self, phase: str, total: int | None) -> None:
        """Add (or reset) the phase's bar."""
        with self._lock:
            if phase in self._tasks:
                self._progress.reset(self._tasks[phase], total=total)
            else:
                self._tasks[phase] = self._progress.add_task(phase, total=total)

    def advance(self, phase: str, n: int = 1) -> None:
        """Move the phase's bar by ``n``."""
        with self._lock:
            if phase not in self._tasks:
                self._tasks[phase] = self._progress.add_task(phase, total=None)
            self._progress.advance(self._tasks[phase], n)

    def finish(self, phase: str) -> None:
        """Fill the phase's bar (its total becomes what was done)."""
        with self._lock:
            task_id = self._tasks.get(phase)
            if task_id is not None:
                done = self._progress.tasks[task_id].completed
                self._progress.update(task_id, total=done, completed=done)
                self._progress.stop_task(task_id)


@dataclass
class _Phase:
    total: int | None
    done: int
    started: float
    logged: float


class LogProgress:
    """A ``ProgressSink`` writing ``progress`` log lines (phase, done, total, rate, ETA).

    ``clock`` is a monotonic seconds clock, injected so tests need not sleep.
    """

    def __init__(self, *, clock: Callable[[], float], every_s: float = DEFAULT_EVERY_S,
                 logger: Any = None) -> None:
        self._clock = clock
        self._every = every_s
        self._log = logger or structlog.get_logger("sfrenew.progress")
        self._phases: dict[str, _Phase] = {}
        self._lock = threading.Lock()

    def start(self, phase: str, total: int | None) -> None:
        """Remember the phase's start; log that it began."""
        now = self._clock()
        with self._lock:
            self._phases[phase] = _Phase(total=total, done=0, started=now, logged=now)
        self._log.info(PROGRESS, phase=phase, state="started", total=total)

    def advance(self, phase: str, n: int = 1) -> None:
        """Count ``n`` more; log when ``every_s`` passed since the last line."""
        now = self._clock()
        with self._lock:
            state = self._phases.setdefault(phase, _Phase(None, 0, now, now))
            state.done += n
            if now - state.logged < self._every:
                return
            state.logged = now
            fields = self._figures(state, now)
        self._log.info(PROGRESS, phase=phase, state="running", **fields)

    def finish(self, phase: str) -> None:
        """Log the phase's final figures."""
        now = self._clock()
        with self._lock:
            state = self._phases.pop(phase, None)
        if state is not None:
            fields = self._figures(state, now)
            fields.pop("eta_s", None)
            self._log.info(PROGRESS, phase=phase, state="finished", **fields)

    @staticmethod
    def _figures(state: _Phase, now: float) -> dict[str, Any]:
        elapsed = max(now - state.started, 1e-9)
        rate = state.done / elapsed
        eta = None
        if state.total is not None and rate > 0:
            eta = round(max(state.total - state.done, 0) / rate, 1)
        return {"done": state.done, "total": state.total, "rate_per_s": round(rate, 1),
                "elapsed_s": round(elapsed, 1), "eta_s": eta}


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is an interactive terminal."""
    isatty = getattr(stream, "isatty", None)
    return bool(callable(isatty) and isatty())


@contextmanager
def progress_for(stream: TextIO | None = None, *,
                 clock: Callable[[], float]) -> Iterator[ProgressSink]:
    """Rich bars when ``stream`` (stderr) is a terminal, log lines otherwise."""
    out = stream or sys.stderr
    if is_terminal(out):
        with RichProgress(Console(file=out)) as bars:
            yield bars
    else:
        yield LogProgress(clock=clock)
