"""The report page: self-contained, and every chart draws in a real browser.

The browser test drives Debian's Chromium from its own command line (``--dump-dom``
after the page's scripts ran); it is skipped only when Chromium is absent (``.ci/run``
installs it).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from sfrenew.core.analytics import book_figures
from sfrenew.report import figures_json, render_page
from sfrenew.report.page import CHART_IDS
from tests.unit.core.analytics.book import BOOK, GRACE, RATES, TODAY
from tests.unit.core.analytics.test_forecast import SNAPSHOTS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _page(*, snapshots: bool = True) -> str:
    return render_page(book_figures(BOOK, rates=RATES, currency="USD", today=TODAY,
                                    grace_days=GRACE,
                                    snapshots=SNAPSHOTS if snapshots else ()))


def test_page_is_self_contained() -> None:
    page = _page()
    # no external script, stylesheet or font: nothing is fetched when it opens
    assert not re.search(r"""<(script|link|img)[^>]+(src|href)=["']?(https?:)?//""", page)
    # every script is inline (plotly.js itself included; its bundle only *names* a CDN
    # for geo maps, which the page does not draw)
    assert not re.search(r"<script[^>]*\bsrc=", page)
    assert "Plotly.newPlot" in page
    for chart in CHART_IDS:
        assert f'id="{chart}"' in page
    # the tables carry the hand-computed figures (tests/unit/core/analytics/book.py)
    assert "83.02 %" in page  # GRR of November 2025
    assert "Competitor" in page


def test_json_has_the_same_figures() -> None:
    data = json.loads(figures_json(book_figures(BOOK, rates=RATES, currency="USD",
                                                today=TODAY, grace_days=GRACE)))
    assert data["version"] == 1
    assert data["atr"]["2025-11"] == {"all": "53000.00"}
    assert data["retention"]["2025-11"]["all"]["grr"] == "0.8302"
    assert data["on_time"]["2025-11"]["rate"] == "0.6000"
    assert data["pipeline"][1] == {"bucket": "T-30", "count": 2, "arr": "29400.00",
                                   "at_risk_arr": "8400.00"}


def _render(page: str, tmp_path: Path) -> str:
    assert CHROMIUM is not None
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=15000",
         "--dump-dom", path.as_uri()],
        capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is absent (.ci/run installs it)")
@pytest.mark.parametrize("snapshots", [True, False], ids=["with-snapshots", "no-snapshots"])
def test_every_chart_draws_in_chromium(tmp_path: Path, snapshots: bool) -> None:
    dom = _render(_page(snapshots=snapshots), tmp_path)
    assert "data-errors" not in dom.split("<head>")[0], "script errors on the page"
    sections = dom.split('<section class="chart">')[1:]
    assert len(sections) == len(CHART_IDS)
    for chart, section in zip(CHART_IDS, sections, strict=True):
        body = section.split("</section>")[0]
        assert f'id="{chart}"' in body
        # plotly adds its <svg class="main-svg"> elements once a chart is drawn
        assert 'class="main-svg"' in body, f"chart {chart} did not draw"
        assert "<path" in body or "<rect" in body, f"chart {chart} is empty"
