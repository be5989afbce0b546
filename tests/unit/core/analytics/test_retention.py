"""ATR, outcomes and GRR/NRR on the hand-computed book (tests/unit/core/analytics/book.py)."""

from decimal import Decimal

import pytest

from sfrenew.core.analytics import (
    Dimension,
    Grain,
    atr,
    churn_by_reason,
    convert_facts,
    outcome_of,
    retention_by_period,
)
from tests.unit.core.analytics.book import BOOK, RATES

D = Decimal
USD, _ = convert_facts(BOOK, rates=RATES, currency="USD")


def test_atr_by_month() -> None:
    assert atr(USD, grain=Grain.MONTH) == {
        "2025-11": {"all": D("53000.00")},  # 10,000 + 20,000 + 5,000 + 8,000 + 10,000 (R05)
        "2025-12": {"all": D("62000.00")},  # 10,000 (R06) + 12,000 + 30,000 + 10,000 (R09)
        "2026-02": {"all": D("25000.00")},  # 15,000 + 6,000 + 4,000
        "2026-03": {"all": D("38000.00")},  # 10,000 + 20,000 + 8,000
        "2026-04": {"all": D("13000.00")},  # 10,000 (R16) + 3,000
        "2026-05": {"all": D("40000.00")},
        "2026-06": {"all": D("7000.00")},
        "2026-09": {"all": D("50000.00")},
    }


def test_atr_by_quarter() -> None:
    assert atr(USD, grain=Grain.QUARTER) == {
        "2025-Q4": {"all": D("115000.00")},  # 53,000 + 62,000
        "2026-Q1": {"all": D("63000.00")},  # 25,000 + 38,000
        "2026-Q2": {"all": D("60000.00")},  # 13,000 + 40,000 + 7,000
        "2026-Q3": {"all": D("50000.00")},
    }


@pytest.mark.parametrize(("by", "period", "expected"), [
    (Dimension.RISK, "2026-04", {"High": "10000.00", "Low": "3000.00"}),
    (Dimension.RISK, "2025-11", {"(none)": "53000.00"}),  # closed ones carry no risk here
    (Dimension.SEGMENT, "2025-11", {"Enterprise": "20000.00", "SMB": "33000.00"}),
    # EMEA: R06 10,000; APAC: R09 10,000; AMER: R07 12,000 + R08 30,000
    (Dimension.REGION, "2025-12", {"AMER": "42000.00", "APAC": "10000.00",
                                   "EMEA": "10000.00"}),
    # ana (odd): R13 10,000 + R15 8,000; ben (even): R14 20,000
    (Dimension.OWNER, "2026-03", {"ana": "18000.00", "ben": "20000.00"}),
])
def test_atr_by_dimension(by: Dimension, period: str, expected: dict[str, str]) -> None:
    assert atr(USD, grain=Grain.MONTH, by=by)[period] == {k: D(v) for k, v in expected.items()}


@pytest.mark.parametrize(("rid", "renewed", "uplift", "expansion", "contraction", "churn"), [
    ("R01", "10500.00", "500.00", "0.00", "0.00", "0"),  # 10,500 − 10,000 − 500 = 0
    ("R02", "24000", "1000", "3000", "0", "0"),  # 24,000 − 20,000 − 1,000 = +3,000
    ("R03", "4000", "250", "0", "1250", "0"),  # 4,000 − 5,000 − 250 = −1,250
    ("R04", "0", "0", "0", "0", "8000"),  # lost: all of the prior ARR churns
    ("R08", "27000", "1500", "0", "4500", "0"),  # 27,000 − 30,000 − 1,500 = −4,500
    ("R13", "12000", "500", "1500", "0", "0"),  # 12,000 − 10,000 − 500 = +1,500
])
def test_outcomes(rid: str, renewed: str, uplift: str, expansion: str, contraction: str,
                  churn: str) -> None:
    fact = next(f for f in USD if f.renewal_id == rid)
    o = outcome_of(fact, grain=Grain.MONTH)
    assert o is not None
    assert (o.renewed, o.uplift, o.expansion, o.contraction, o.churn) == (
        D(renewed), D(uplift), D(expansion), D(contraction), D(churn))
    # the waterfall of one renewal closes: prior − churn − contraction + uplift + expansion
    assert o.prior - o.churn - o.contraction + o.uplift + o.expansion == o.renewed


def test_open_renewal_has_no_outcome() -> None:
    fact = next(f for f in USD if f.renewal_id == "R14")
    assert outcome_of(fact, grain=Grain.MONTH) is None


def test_retention_by_month() -> None:
    r = retention_by_period(USD, grain=Grain.MONTH)
    nov = r["2025-11"]["all"]
    # start 53,000; churn 8,000 (R04); contraction 1,250 (R03); uplift 500 + 1,000 + 250
    # + 500 = 2,250; expansion 3,000 (R02); end 10,500 + 24,000 + 4,000 + 10,500 = 49,000
    assert (nov.start, nov.churn, nov.contraction, nov.uplift, nov.expansion, nov.end) == (
        D(53000), D(8000), D(1250), D(2250), D(3000), D(49000))
    # gross retained Σ min(W, P) = 10,000 + 20,000 + 4,000 + 0 + 10,000 = 44,000
    assert nov.gross_retained == D(44000)
    assert nov.grr == D("0.8302")  # 44,000 / 53,000 = 0.83018…
    assert nov.nrr == D("0.9245")  # 49,000 / 53,000 = 0.92452…
    assert nov.grr_excluding_escalators == D("0.8255")  # (53,000 − 8,000 − 1,250) / 53,000
    assert nov.nrr_excluding_escalators == D("0.8821")  # (49,000 − 2,250) / 53,000 = 0.88207…
    dec = r["2025-12"]["all"]
    # start 10,000 + 12,000 + 30,000 + 10,000 = 62,000; churn 12,000; contraction 4,500;
    # uplift 500 + 1,500 + 500 = 2,500; end 10,500 + 27,000 + 10,500 = 48,000
    assert (dec.start, dec.churn, dec.contraction, dec.uplift, dec.expansion, dec.end) == (
        D(62000), D(12000), D(4500), D(2500), D(0), D(48000))
    assert (dec.grr, dec.nrr) == (D("0.7581"), D("0.7742"))  # 47,000/62,000; 48,000/62,000
    # 45,500 / 62,000 = 0.73387… both ways (no expansion)
    assert (dec.grr_excluding_escalators, dec.nrr_excluding_escalators) == (D("0.7339"),
                                                                          D("0.7339"))
    feb = r["2026-02"]["all"]
    # R11 is open (lapsed): undecided, left out. start 15,000 + 4,000 = 19,000; end 15,750
    assert (feb.start, feb.end, feb.renewals) == (D(19000), D("15750"), 2)
    assert (feb.grr, feb.nrr) == (D("0.7895"), D("0.8289"))  # 15,000/19,000; 15,750/19,000
    # 15,000 / 19,000 both ways: R10's only growth was its escalator
    assert (feb.grr_excluding_escalators, feb.nrr_excluding_escalators) == (D("0.7895"),
                                                                          D("0.7895"))
    assert set(r) == {"2025-11", "2025-12", "2026-02", "2026-03"}


def test_retention_by_segment() -> None:
    ent = retention_by_period(USD, grain=Grain.MONTH, by=Dimension.SEGMENT)["2025-12"][
        "Enterprise"]
    # R08 alone: 30,000 → 27,000 with 1,500 of escalator: as reported 0.9 both; at prior
    # prices 25,500 / 30,000 = 0.85
    assert (ent.grr, ent.nrr) == (D("0.9000"), D("0.9000"))
    assert (ent.grr_excluding_escalators, ent.nrr_excluding_escalators) == (D("0.8500"),
                                                                          D("0.8500"))


def test_churn_by_reason() -> None:
    outcomes = [o for f in USD if (o := outcome_of(f, grain=Grain.MONTH)) is not None]
    assert churn_by_reason(outcomes) == {"Competitor": D(12000), "Budget": D(8000),
                                         "(none)": D(4000)}
