"""Small builders and Hypothesis strategies for renewal-domain values."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from sfrenew.core.domain import Account, Contract, ContractLine, ExistingRenewal, RiskSignals

TODAY = date(2024, 3, 1)
ACCOUNT = Account("001000000000001AAA", "Acme Corp", segment="Enterprise", region="EMEA")


def line(n: int = 1, price: str | None = "1000", qty: str = "10", *,
         family: str = "Software", list_price: str | None = None) -> ContractLine:
    """A contract line with an annual unit price."""
    return ContractLine(id=f"L{n}", product_id=f"P{n}", product_name=f"Product {n}",
                        quantity=Decimal(qty),
                        annual_price=Decimal(price) if price is not None else None,
                        product_family=family,
                        list_price=Decimal(list_price) if list_price else None)


def contract(cid: str = "800A", *, end: date | None = date(2024, 3, 31), currency: str = "USD",
             status: str = "Activated", lines: tuple[ContractLine, ...] | None = None,
             **extra: object) -> Contract:
    """An activated 12-month contract ending in a month, with one line by default."""
    return Contract(id=cid, account_id=ACCOUNT.id, number=cid[-4:].rjust(8, "0"),
                    status=status, currency=currency,
                    start_date=end - timedelta(days=365) if end else None, end_date=end,
                    lines=lines if lines is not None else (line(),), **extra)  # type: ignore[arg-type]


def existing(opportunity_id: str, *contract_ids: str, by_sfrenew: bool, stage: str,
             closed: bool = False, key: str | None = None) -> ExistingRenewal:
    """A renewal opportunity the org already holds."""
    return ExistingRenewal(opportunity_id=opportunity_id, contract_ids=contract_ids,
                           created_by_sfrenew=by_sfrenew, stage=stage, is_closed=closed, key=key)


@st.composite
def contracts(draw: st.DrawFn, n: int) -> Contract:
    """An eligible-looking contract with 1–4 lines, any currency of USD/EUR/JPY."""
    currency = draw(st.sampled_from(["USD", "EUR", "JPY"]))
    end = TODAY + timedelta(days=draw(st.integers(min_value=0, max_value=170)))
    count = draw(st.integers(min_value=1, max_value=4))
    lines = tuple(
        ContractLine(id=f"L{n}-{i}", product_id=f"P{i}", product_name=f"Product {i}",
                     quantity=Decimal(draw(st.integers(min_value=1, max_value=100))),
                     annual_price=draw(st.decimals(min_value=Decimal("0.01"),
                                                   max_value=Decimal(100_000), places=2)),
                     product_family=draw(st.sampled_from(["Software", "Hardware"])))
        for i in range(count))
    return Contract(id=f"800{n:05d}", account_id=ACCOUNT.id, number=f"{n:08d}",
                    status="Activated", currency=currency,
                    start_date=end - timedelta(days=365), end_date=end, lines=lines,
                    term_months=draw(st.sampled_from([None, 1, 6, 12, 24, 36])),
                    uplift_cap=draw(st.none() | st.just(Decimal("0.04"))))


accounts_contracts = st.integers(min_value=1, max_value=6).flatmap(
    lambda k: st.tuples(*(contracts(i) for i in range(k))))

signals = st.builds(
    RiskSignals,
    health_score=st.none() | st.decimals(min_value=0, max_value=100, places=0),
    open_high_severity_cases=st.integers(min_value=0, max_value=3),
    champion_gone=st.booleans(),
    payment_days_overdue=st.none() | st.integers(min_value=0, max_value=90),
)
