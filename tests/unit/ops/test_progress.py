"""Progress off a terminal: periodic log lines with counts, rate and ETA."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from sfrenew.progress import LogProgress, RichProgress, progress_for


class Recorder:
    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []

    def info(self, event: str, **fields: Any) -> None:
        self.lines.append({"event": event, **fields})


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_log_progress_lines_are_periodic() -> None:
    clock, log = Clock(), Recorder()
    sink = LogProgress(clock=clock, every_s=10, logger=log)
    sink.start("apply", 1000)
    for _ in range(5):  # 4 s apart: a line at 12 s and at 20 s since the start
        clock.now += 4
        sink.advance("apply", 100)
    sink.finish("apply")
    states = [(line["state"], line.get("done")) for line in log.lines]
    assert states == [("started", None), ("running", 300), ("finished", 500)]
    running = log.lines[1]
    assert running["total"] == 1000
    assert running["rate_per_s"] == 25.0
    assert running["eta_s"] == 28.0  # 700 left at 25/s
    assert "eta_s" not in log.lines[2]


def test_unknown_total_has_no_eta() -> None:
    clock, log = Clock(), Recorder()
    sink = LogProgress(clock=clock, every_s=0, logger=log)
    sink.start("pull", None)
    clock.now += 2
    sink.advance("pull", 2000)
    assert log.lines[-1]["eta_s"] is None
    assert log.lines[-1]["rate_per_s"] == 1000.0


def test_not_a_terminal_gives_log_lines() -> None:
    with progress_for(io.StringIO(), clock=Clock()) as sink:
        assert isinstance(sink, LogProgress)


def test_rich_bars_render_counts() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    with RichProgress(console) as bars:
        bars.start("plan", 10)
        bars.advance("plan", 4)
        bars.advance("apply", 2)  # a phase that never said start still shows
        bars.finish("plan")
    text = out.getvalue()
    assert "plan" in text
    assert "4/4" in text
    assert "apply" in text
