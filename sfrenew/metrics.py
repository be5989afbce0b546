"""Prometheus metrics, written in the text exposition format by hand.

A handful of counters and gauges does not justify a dependency: :class:`Metrics`
keeps them in memory (thread-safe, fed by each finished run) and renders version
0.0.4 of the text format; :class:`MetricsServer` serves it (on 127.0.0.1 unless told
another address, e.g. 0.0.0.0 in a container) with the standard library's HTTP
server, in a daemon thread that ``close()`` joins.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
BIND_HOST = "127.0.0.1"

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class _Family:
    name: str
    kind: str  # counter | gauge
    help: str


FAMILIES = (
    _Family("sfrenew_runs_total", "counter", "Finished runs by job and outcome."),
    _Family("sfrenew_rows_pulled_total", "counter", "Rows pulled into the mirror, by object."),
    _Family("sfrenew_rows_written_total", "counter",
            "Records written to Salesforce, by object and operation (created, updated)."),
    _Family("sfrenew_rows_rejected_total", "counter", "Records Salesforce rejected, by object."),
    _Family("sfrenew_api_calls_total", "counter", "Salesforce API calls, by job and kind."),
    _Family("sfrenew_api_daily_remaining", "gauge",
            "The org's remaining daily API allocation, as last seen."),
    _Family("sfrenew_last_success_timestamp_seconds", "gauge",
            "Unix time the job's last successful run finished."),
    _Family("sfrenew_last_run_duration_seconds", "gauge", "Duration of the job's last run."),
    _Family("sfrenew_daemon_start_timestamp_seconds", "gauge",
            "Unix time the daemon started (served before any run)."),
)
OUTCOMES = ("succeeded", "stopped", "interrupted", "failed")


def escape_label(value: str) -> str:
    """A label value escaped as the exposition format requires (\\, ", newline)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class Metrics:
    """In-memory counters and gauges, fed by :meth:`observe_run`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, dict[Labels, float]] = {f.name: {} for f in FAMILIES}

    def inc(self, name: str, labels: Mapping[str, str], value: float = 1) -> None:
        """Add ``value`` to a counter."""
        key = tuple(sorted(labels.items()))
        with self._lock:
            series = self._values[name]
            series[key] = series.get(key, 0) + value

    def set(self, name: str, labels: Mapping[str, str], value: float) -> None:
        """Set a gauge."""
        with self._lock:
            self._values[name][tuple(sorted(labels.items()))] = value

    def observe_run(self, *, job: str, status: str, stats: Mapping[str, Any],
                    api_calls: Mapping[str, int], duration_s: float,
                    finished_at: datetime) -> None:
        """Account for one finished run (``stats`` as the store's RunStats JSON)."""
        self.inc("sfrenew_runs_total", {"job": job, "outcome": status})
        for obj, rows in (stats.get("pulled") or {}).items():
            self.inc("sfrenew_rows_pulled_total", {"job": job, "object": obj}, int(rows))
        for obj, counts in (stats.get("written") or {}).items():
            for operation in ("created", "updated"):
                self.inc("sfrenew_rows_written_total",
                         {"job": job, "object": obj, "operation": operation},
                         int(counts.get(operation, 0)))
            self.inc("sfrenew_rows_rejected_total", {"job": job, "object": obj},
                     int(counts.get("rejected", 0)))
        for kind, calls in api_calls.items():
            self.inc("sfrenew_api_calls_total", {"job": job, "kind": kind}, int(calls))
        usage = stats.get("api_usage")
        if isinstance(usage, Mapping) and "max" in usage and "used" in usage:
            self.set_remaining(int(usage["max"]) - int(usage["used"]))
        self.set("sfrenew_last_run_duration_seconds", {"job": job}, round(duration_s, 3))
        if status == "succeeded":
            self.set("sfrenew_last_success_timestamp_seconds", {"job": job},
                     round(finished_at.timestamp(), 3))

    def start(self, *, jobs: Iterable[str], started_at: datetime) -> None:
        """What is known before the first run: the start time, and a zero run count per
        job and outcome (so ``/metrics`` is not empty and ``increase()`` sees the first
        run)."""
        self.set("sfrenew_daemon_start_timestamp_seconds", {}, round(started_at.timestamp(), 3))
        for job in jobs:
            for outcome in OUTCOMES:
                self.inc("sfrenew_runs_total", {"job": job, "outcome": outcome}, 0)

    def set_remaining(self, remaining: int) -> None:
        """The org's remaining daily API allocation (from ``/limits`` or a response)."""
        self.set("sfrenew_api_daily_remaining", {}, remaining)

    def render(self) -> str:
        """Every family in the text exposition format (HELP, TYPE, then samples)."""
        lines: list[str] = []
        with self._lock:
            snapshot = {name: dict(series) for name, series in self._values.items()}
        for family in FAMILIES:
            lines.append(f"# HELP {family.name} {family.help}")
            lines.append(f"# TYPE {family.name} {family.kind}")
            for labels, value in sorted(snapshot[family.name].items()):
                label_text = ",".join(f'{k}="{escape_label(v)}"' for k, v in labels)
                sample = f"{family.name}{{{label_text}}}" if labels else family.name
                lines.append(f"{sample} {_format_number(value)}")
        return "\n".join(lines) + "\n"


class _Handler(BaseHTTPRequestHandler):
    server: _MetricsHTTPServer

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] not in ("/metrics", "/"):
            self.send_error(404, "only /metrics is served here")
            return
        body = self.server.metrics.render().encode()
        self.send_response(200)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every few seconds would drown the run's log lines: stay quiet."""


class _MetricsHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, metrics: Metrics) -> None:
        self.metrics = metrics
        super().__init__((host, port), _Handler)


class MetricsServer:
    """``GET /metrics`` on ``host``:``port`` (0 picks a free port) until ``close()``."""

    def __init__(self, metrics: Metrics, *, port: int, host: str = BIND_HOST) -> None:
        self._server = _MetricsHTTPServer(host, port, metrics)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="sfrenew-metrics", daemon=True)

    @property
    def port(self) -> int:
        """The port actually bound."""
        return int(self._server.server_address[1])

    def start(self) -> MetricsServer:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving, close the socket, join the thread."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()
