"""Invariants of the retention figures over any book (hypothesis)."""

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from sfrenew.core.analytics import (
    BUCKETS,
    Grain,
    Outcome,
    RenewalFact,
    on_time_by_period,
    pipeline,
    retention_by_period,
)

_money = st.integers(min_value=1, max_value=10_000_000).map(lambda c: Decimal(c) / 100)


@st.composite
def facts(draw: st.DrawFn) -> RenewalFact:
    prior = draw(_money)
    # an escalator from −50 % to +50 % of the prior ARR, in cents
    uplift = Decimal(draw(st.integers(min_value=-50, max_value=50))) * prior / 100
    uplift = uplift.quantize(Decimal("0.01"))
    outcome = draw(st.sampled_from(list(Outcome)))
    won = draw(st.integers(min_value=0, max_value=30_000_000).map(lambda c: Decimal(c) / 100))
    due = date(2025, 1, 1) + timedelta(days=draw(st.integers(0, 730)))
    close = due + timedelta(days=draw(st.integers(-60, 60)))
    return RenewalFact(renewal_id=str(draw(st.integers(0, 10**6))), account="A",
                       currency="USD", due=due, close_date=close, outcome=outcome,
                       prior_arr=prior, renewal_arr=prior + uplift, uplift=uplift,
                       won_arr=won if outcome is Outcome.WON else None)


@given(st.lists(facts(), max_size=30))
def test_retention_invariants(book: list[RenewalFact]) -> None:
    for by_key in retention_by_period(book, grain=Grain.QUARTER).values():
        r = by_key["all"]
        assert r.start - r.churn - r.contraction + r.uplift + r.expansion == r.end
        assert r.grr is not None
        assert r.nrr is not None
        assert r.grr_excluding_escalators is not None
        assert r.grr <= r.nrr
        assert r.grr <= 1
        assert r.grr_excluding_escalators <= 1
        assert r.nrr_excluding_escalators is not None
        assert r.grr_excluding_escalators <= r.nrr_excluding_escalators
        assert min(r.churn, r.contraction, r.expansion) >= 0


@given(st.lists(facts(), max_size=30), st.integers(0, 30))
def test_every_renewal_counts_once(book: list[RenewalFact], grace: int) -> None:
    today = date(2026, 1, 1)
    rates = on_time_by_period(book, today=today, grace_days=grace, grain=Grain.MONTH)
    assert sum(r.on_time + r.late + r.lost + r.pending for r in rates.values()) == len(book)
    for r in rates.values():
        assert r.rate is None or 0 <= r.rate <= 1
    buckets = pipeline(book, today=today)
    assert [b.bucket for b in buckets] == list(BUCKETS)
    assert sum(b.count for b in buckets) == sum(f.outcome is Outcome.OPEN for f in book)
