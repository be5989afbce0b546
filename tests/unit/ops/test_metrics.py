"""Metrics in the Prometheus text format, served on 127.0.0.1."""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import UTC, datetime

import pytest

from sfrenew.metrics import CONTENT_TYPE, Metrics, MetricsServer, escape_label

FINISHED = datetime(2026, 11, 24, 2, 0, 30, tzinfo=UTC)
STATS = {"pulled": {"Contract": 120, "Account": 10},
         "written": {"Opportunity": {"created": 4, "updated": 2, "skipped": 0, "rejected": 1}},
         "api_calls": {"query_page": 3}, "api_usage": {"used": 1500, "max": 100000}}


def test_render_after_runs() -> None:
    metrics = Metrics()
    metrics.observe_run(job="renewals", status="succeeded", stats=STATS,
                        api_calls={"query_page": 3, "collections": 2}, duration_s=12.5,
                        finished_at=FINISHED)
    metrics.observe_run(job="renewals", status="stopped", stats={}, api_calls={},
                        duration_s=1.0, finished_at=FINISHED)
    text = metrics.render()
    lines = text.splitlines()
    assert "# TYPE sfrenew_runs_total counter" in lines
    assert "# HELP sfrenew_api_daily_remaining The org's remaining daily API allocation, " \
           "as last seen." in lines
    assert 'sfrenew_runs_total{job="renewals",outcome="succeeded"} 1' in lines
    assert 'sfrenew_runs_total{job="renewals",outcome="stopped"} 1' in lines
    assert 'sfrenew_rows_pulled_total{job="renewals",object="Contract"} 120' in lines
    assert 'sfrenew_rows_written_total{job="renewals",object="Opportunity",' \
           'operation="created"} 4' in lines
    assert 'sfrenew_rows_rejected_total{job="renewals",object="Opportunity"} 1' in lines
    assert 'sfrenew_api_calls_total{job="renewals",kind="collections"} 2' in lines
    assert "sfrenew_api_daily_remaining 98500" in lines
    assert f'sfrenew_last_success_timestamp_seconds{{job="renewals"}} ' \
           f'{int(FINISHED.timestamp())}' in lines
    assert 'sfrenew_last_run_duration_seconds{job="renewals"} 1' in lines
    assert text.endswith("\n")


def test_label_escaping() -> None:
    assert escape_label('a"b\\c\nd') == 'a\\"b\\\\c\\nd'


def test_server_on_loopback() -> None:
    metrics = Metrics()
    metrics.set_remaining(42)
    server = MetricsServer(metrics, port=0).start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics",
                                    timeout=5) as response:
            body = response.read().decode()
            assert response.headers["Content-Type"] == CONTENT_TYPE
        assert "sfrenew_api_daily_remaining 42" in body
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(f"http://127.0.0.1:{server.port}/other", timeout=5)
        assert info.value.code == 404
        info.value.close()
    finally:
        server.close()


def test_server_binds_the_address_it_is_given() -> None:
    # A container publishes or a sidecar scrapes 0.0.0.0; 127.0.0.1 was the only choice.
    server = MetricsServer(Metrics(), port=0, host="0.0.0.0").start()
    try:
        assert server._server.server_address[0] == "0.0.0.0"
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics",
                                    timeout=5) as response:
            assert response.status == 200
    finally:
        server.close()


def test_metrics_say_something_before_the_first_run() -> None:
    # /metrics was empty (HELP and TYPE lines only) until a run finished.
    metrics = Metrics()
    metrics.start(jobs=["renewals"], started_at=datetime(2026, 3, 10, 9, tzinfo=UTC))
    text = metrics.render()
    assert "sfrenew_daemon_start_timestamp_seconds 1773133200\n" in text  # 2026-03-10 09:00 UTC
    assert 'sfrenew_runs_total{job="renewals",outcome="failed"} 0\n' in text
    assert 'sfrenew_runs_total{job="renewals",outcome="succeeded"} 0\n' in text
