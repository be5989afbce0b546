"""A hand-computed book of 20 renewals, reported in USD on 2026-03-10.

Rates (CurrencyType, units per USD): EUR 0.8, GBP 0.5, JPY 150; one dated EUR rate of
0.9 for [2025-10-01, 2026-01-01). Grace 14 days. Every expected figure in the tests is
computed by hand from this table, with the arithmetic in a comment.

| id | cur | due | close | outcome | prior | uplift | won / renewal | notes |
|---|---|---|---|---|---|---|---|---|
| R01 | USD | 2025-11-15 | 2025-11-10 | won | 10,000 | 500 | 10,500 | on time |
| R02 | USD | 2025-11-20 | 2025-12-20 | won | 20,000 | 1,000 | 24,000 | late 30 d; +3,000 exp. |
| R03 | USD | 2025-11-30 | 2025-12-10 | won | 5,000 | 250 | 4,000 | in grace; −1,250 contr. |
| R04 | USD | 2025-11-05 | 2025-11-01 | lost | 8,000 | 400 | — | Budget |
| R05 | EUR | 2025-11-25 | 2025-11-20 | won | 9,000 | 450 | 9,450 | dated 0.9 (USD below) |
| R06 | GBP | 2025-12-31 | 2025-12-15 | won | 5,000 | 250 | 5,250 | 0.5 (USD below) |
| R07 | USD | 2025-12-10 | 2026-01-05 | lost | 12,000 | 600 | — | Competitor |
| R08 | USD | 2025-12-20 | 2025-12-18 | won | 30,000 | 1,500 | 27,000 | −4,500 contraction |
| R09 | JPY | 2025-12-05 | 2025-12-01 | won | 1,500,000 | 75,000 | 1,575,000 | 150 (below) |
| R10 | USD | 2026-02-10 | 2026-03-01 | won | 15,000 | 750 | 15,750 | late (19 d) |
| R11 | USD | 2026-02-20 | 2026-02-20 | open | 6,000 | 300 | 6,300 | lapsed 18 d, Medium, Pipeline |
| R12 | USD | 2026-02-28 | 2026-02-25 | lost | 4,000 | 200 | — | no reason |
| R13 | USD | 2026-03-31 | 2026-03-05 | won | 10,000 | 500 | 12,000 | early, +1,500 expansion |
| R14 | USD | 2026-03-25 | 2026-03-25 | open | 20,000 | 1,000 | 21,000 | T-30, Low, Commit |
| R15 | USD | 2026-03-12 | 2026-03-12 | open | 8,000 | 400 | 8,400 | T-30, High, Best Case |
| R16 | EUR | 2026-04-20 | 2026-04-20 | open | 8,000 | 400 | 8,400 | 0.8; T-60, High, Commit |
| R17 | USD | 2026-04-30 | 2026-04-30 | open | 3,000 | 150 | 3,150 | T-60, Low, Pipeline |
| R18 | USD | 2026-05-31 | 2026-05-31 | open | 40,000 | 2,000 | 42,000 | T-90, Medium, Pipeline |
| R19 | USD | 2026-06-30 | 2026-06-30 | open | 7,000 | 350 | 7,350 | T-120, High, Pipeline |
| R20 | USD | 2026-09-30 | 2026-09-30 | open | 50,000 | 2,500 | 52,500 | later, Low, Pipeline |

R05, R06, R09 and R16 are 10,000 / 500 / 10,500 USD (prior / uplift / won or
renewal ARR) once converted.

Segments: Enterprise for R02, R08, R18, R20; SMB for the rest. Regions: EMEA for the
EUR/GBP ones, APAC for JPY, AMER otherwise. Owners: ana (odd ids), ben (even ids).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sfrenew.core.analytics import ConversionRates, DatedRate, Outcome, RenewalFact

TODAY = date(2026, 3, 10)
GRACE = 14
RATES = ConversionRates(
    rates={"USD": Decimal(1), "EUR": Decimal("0.8"), "GBP": Decimal("0.5"),
           "JPY": Decimal(150)},
    dated=(DatedRate("EUR", date(2025, 10, 1), date(2026, 1, 1), Decimal("0.9")),),
    decimals={"USD": 2, "EUR": 2, "GBP": 2, "JPY": 0})

_ENTERPRISE = {"R02", "R08", "R18", "R20"}
_REGION = {"EUR": "EMEA", "GBP": "EMEA", "JPY": "APAC"}


def _fact(rid: str, cur: str, due: str, close: str, outcome: Outcome, prior: int,
          uplift: int, value: int | None, *, reason: str | None = None,
          risk: str | None = None, category: str | None = None) -> RenewalFact:
    won = Decimal(value) if outcome is Outcome.WON and value is not None else None
    renewal = Decimal(prior + uplift)
    return RenewalFact(
        renewal_id=rid, account=f"Account {rid}", currency=cur,
        due=date.fromisoformat(due), close_date=date.fromisoformat(close), outcome=outcome,
        prior_arr=Decimal(prior), renewal_arr=renewal, uplift=Decimal(uplift), won_arr=won,
        loss_reason=reason, forecast_category=category, risk_level=risk,
        segment="Enterprise" if rid in _ENTERPRISE else "SMB",
        region=_REGION.get(cur, "AMER"), owner="ana" if int(rid[1:]) % 2 else "ben")


W, L, OP = Outcome.WON, Outcome.LOST, Outcome.OPEN
BOOK = [
    _fact("R01", "USD", "2025-11-15", "2025-11-10", W, 10_000, 500, 10_500),
    _fact("R02", "USD", "2025-11-20", "2025-12-20", W, 20_000, 1_000, 24_000),
    _fact("R03", "USD", "2025-11-30", "2025-12-10", W, 5_000, 250, 4_000),
    _fact("R04", "USD", "2025-11-05", "2025-11-01", L, 8_000, 400, None, reason="Budget"),
    _fact("R05", "EUR", "2025-11-25", "2025-11-20", W, 9_000, 450, 9_450),
    _fact("R06", "GBP", "2025-12-31", "2025-12-15", W, 5_000, 250, 5_250),
    _fact("R07", "USD", "2025-12-10", "2026-01-05", L, 12_000, 600, None, reason="Competitor"),
    _fact("R08", "USD", "2025-12-20", "2025-12-18", W, 30_000, 1_500, 27_000),
    _fact("R09", "JPY", "2025-12-05", "2025-12-01", W, 1_500_000, 75_000, 1_575_000),
    _fact("R10", "USD", "2026-02-10", "2026-03-01", W, 15_000, 750, 15_750),
    _fact("R11", "USD", "2026-02-20", "2026-02-20", OP, 6_000, 300, None, risk="Medium",
          category="Pipeline"),
    _fact("R12", "USD", "2026-02-28", "2026-02-25", L, 4_000, 200, None),
    _fact("R13", "USD", "2026-03-31", "2026-03-05", W, 10_000, 500, 12_000),
    _fact("R14", "USD", "2026-03-25", "2026-03-25", OP, 20_000, 1_000, None, risk="Low",
          category="Commit"),
    _fact("R15", "USD", "2026-03-12", "2026-03-12", OP, 8_000, 400, None, risk="High",
          category="Best Case"),
    _fact("R16", "EUR", "2026-04-20", "2026-04-20", OP, 8_000, 400, None, risk="High",
          category="Commit"),
    _fact("R17", "USD", "2026-04-30", "2026-04-30", OP, 3_000, 150, None, risk="Low",
          category="Pipeline"),
    _fact("R18", "USD", "2026-05-31", "2026-05-31", OP, 40_000, 2_000, None, risk="Medium",
          category="Pipeline"),
    _fact("R19", "USD", "2026-06-30", "2026-06-30", OP, 7_000, 350, None, risk="High",
          category="Pipeline"),
    _fact("R20", "USD", "2026-09-30", "2026-09-30", OP, 50_000, 2_500, None, risk="Low",
          category="Pipeline"),
]
