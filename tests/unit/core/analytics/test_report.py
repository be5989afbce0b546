"""Every figure at once (what ``sfrenew report`` shows), and per currency."""

from decimal import Decimal

from sfrenew.core.analytics import Grain, book_figures, identity_rates
from tests.unit.core.analytics.book import BOOK, GRACE, RATES, TODAY
from tests.unit.core.analytics.test_forecast import SNAPSHOTS

D = Decimal


def test_book_figures_in_the_reporting_currency() -> None:
    figures = book_figures(BOOK, rates=RATES, currency="USD", today=TODAY,
                           grace_days=GRACE, snapshots=SNAPSHOTS)
    assert figures.problems == []
    assert figures.atr["2025-11"] == {"all": D(53000)}
    assert figures.retention["2025-11"]["all"].grr == D("0.8302")
    assert figures.on_time["2025-11"].rate == D("0.6000")
    # only periods over by 2026-03-10 are judged: December and February
    assert [(a.period, a.weeks_out, a.accuracy) for a in figures.accuracy] == [
        ("2025-12", 8, D("0.0000")), ("2026-02", 3, D("0.8571")), ("2026-02", 0, D("0.9524"))]
    assert figures.churn_by_reason == {"Competitor": D(12000), "Budget": D(8000),
                                       "(none)": D(4000)}
    assert figures.atr_by["risk"]["2026-04"] == {"High": D(10000), "Low": D(3000)}
    assert figures.pipeline[0].arr == D(6300)
    assert [r.renewal_id for r in figures.at_risk] == ["R11", "R15", "R16", "R19"]


def test_per_currency_figures() -> None:
    eur = [f for f in BOOK if f.currency == "EUR"]
    figures = book_figures(eur, rates=identity_rates("EUR"), currency="EUR", today=TODAY,
                           grain=Grain.QUARTER)
    # R05 9,000 EUR due in 2025-Q4, R16 8,000 EUR in 2026-Q2: no conversion
    assert figures.atr == {"2025-Q4": {"all": D(9000)}, "2026-Q2": {"all": D(8000)}}
    r = figures.retention["2025-Q4"]["all"]
    # 9,000 → 9,450 by escalator only: NRR 1.05 as reported, 1.0 at prior prices
    assert (r.nrr, r.nrr_excluding_escalators) == (D("1.0500"), D("1.0000"))
