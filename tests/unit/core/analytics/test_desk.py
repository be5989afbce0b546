"""On-time rate, T-minus pipeline and the at-risk list on the hand-computed book."""

from datetime import date
from decimal import Decimal

import pytest

from sfrenew.core.analytics import (
    Grain,
    OnTimeRate,
    PipelineBucket,
    at_risk,
    bucket_of,
    convert_facts,
    on_time_by_period,
    pipeline,
    timeliness,
)
from tests.unit.core.analytics.book import BOOK, GRACE, RATES, TODAY

D = Decimal
USD, _ = convert_facts(BOOK, rates=RATES, currency="USD")
BY_ID = {f.renewal_id: f for f in USD}


@pytest.mark.parametrize(("rid", "grace", "expected"), [
    ("R01", 14, "on_time"),  # closed 5 days before the end
    ("R02", 14, "late"),  # 30 days after the end > 14
    ("R03", 14, "on_time"),  # 10 days after the end, within the grace
    ("R03", 0, "late"),  # … but late without one
    ("R04", 14, "lost"),
    ("R10", 14, "late"),  # 19 days after
    ("R11", 14, "late"),  # open, ended 18 days ago: lapsed counts late until closed
    ("R14", 14, "pending"),  # open, ends in 15 days
])
def test_timeliness(rid: str, grace: int, expected: str) -> None:
    assert timeliness(BY_ID[rid], today=TODAY, grace_days=grace) == expected


def test_lapsed_inside_the_grace_is_late_until_closed() -> None:
    # R15 ends 2026-03-12; on 2026-03-13 it is lapsed one day: late, although a close
    # that day would still be on time
    assert timeliness(BY_ID["R15"], today=date(2026, 3, 13), grace_days=GRACE) == "late"


def test_on_time_by_month() -> None:
    assert on_time_by_period(USD, today=TODAY, grace_days=GRACE, grain=Grain.MONTH) == {
        # R01, R03 (grace), R05 on time; R02 late; R04 lost: 3 / 5
        "2025-11": OnTimeRate(3, 1, 1, 0, D("0.6000")),
        # R06, R08, R09 on time; R07 lost: 3 / 4
        "2025-12": OnTimeRate(3, 0, 1, 0, D("0.7500")),
        # R10 late, R11 lapsed, R12 lost: 0 / 3
        "2026-02": OnTimeRate(0, 2, 1, 0, D("0.0000")),
        # R13 won early; R14, R15 not due yet: 1 / 1
        "2026-03": OnTimeRate(1, 0, 0, 2, D("1.0000")),
        "2026-04": OnTimeRate(0, 0, 0, 2, None),
        "2026-05": OnTimeRate(0, 0, 0, 1, None),
        "2026-06": OnTimeRate(0, 0, 0, 1, None),
        "2026-09": OnTimeRate(0, 0, 0, 1, None),
    }


@pytest.mark.parametrize(("due", "expected"), [
    (date(2026, 3, 9), "overdue"),  # −1
    (date(2026, 3, 10), "T-30"),  # 0: ends today, not lapsed yet
    (date(2026, 4, 9), "T-30"),  # 30
    (date(2026, 4, 10), "T-60"),  # 31
    (date(2026, 5, 9), "T-60"),  # 60
    (date(2026, 6, 8), "T-90"),  # 90
    (date(2026, 7, 8), "T-120"),  # 120
    (date(2026, 7, 9), "later"),  # 121
])
def test_bucket_of(due: date, expected: str) -> None:
    assert bucket_of(due, TODAY) == expected


def test_pipeline() -> None:
    assert pipeline(USD, today=TODAY) == [
        PipelineBucket("overdue", 1, D(6300), D(0)),  # R11 (Medium)
        PipelineBucket("T-30", 2, D(29400), D(8400)),  # R14 21,000 + R15 8,400 (High)
        PipelineBucket("T-60", 2, D(13650), D(10500)),  # R16 10,500 (High) + R17 3,150
        PipelineBucket("T-90", 1, D(42000), D(0)),  # R18
        PipelineBucket("T-120", 1, D(7350), D(7350)),  # R19 (High)
        PipelineBucket("later", 1, D(52500), D(0)),  # R20
    ]


def test_at_risk_list() -> None:
    rows = at_risk(USD, today=TODAY)
    # High risk or overdue, soonest first: R11 (−18 days, Medium but lapsed), R15, R16, R19
    assert [(r.renewal_id, r.days_to_due, r.risk_level, r.arr) for r in rows] == [
        ("R11", -18, "Medium", D(6300)), ("R15", 2, "High", D(8400)),
        ("R16", 41, "High", D("10500.00")), ("R19", 112, "High", D(7350))]
    # a desk that also watches Medium
    assert [r.renewal_id for r in at_risk(USD, today=TODAY, levels=("High", "Medium"))] == [
        "R11", "R15", "R16", "R18", "R19"]
