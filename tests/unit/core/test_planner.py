"""The planner: skipped contracts with reasons, groups, keys, determinism, amounts."""

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from decimal import Decimal as P

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sfrenew.core.domain import (
    Contract,
    ContractLine,
    ExistingRenewal,
    RiskLevel,
    RiskSignals,
)
from sfrenew.core.plan import RenewalPlan, SkipReason
from sfrenew.core.planner import line_key, plan_account, renewal_key
from sfrenew.core.policy import (
    AnchorPolicy,
    CotermPolicy,
    ForecastCategory,
    PricingMethod,
    ProrationMethod,
    RulesPolicy,
    UpliftPolicy,
)
from tests.unit.core.builders import (
    ACCOUNT,
    TODAY,
    accounts_contracts,
    contract,
    existing,
    line,
    signals,
)

POLICY = RulesPolicy()


def _plan(*contracts: Contract, policy: RulesPolicy = POLICY,
          existing: tuple[ExistingRenewal, ...] = (),
          risk: RiskSignals | None = None) -> RenewalPlan:
    return plan_account(account=ACCOUNT, contracts=contracts, today=TODAY, policy=policy,
                        signals=risk, existing_renewals=existing)


@pytest.mark.parametrize(("made", "reason"), [
    (contract(status="Draft"), SkipReason.STATUS_NOT_ELIGIBLE),
    (contract(do_not_renew=True), SkipReason.DO_NOT_RENEW),
    (contract(end=None), SkipReason.MISSING_END_DATE),
    (contract(end=TODAY - timedelta(days=1)), SkipReason.ALREADY_ENDED),
    (contract(end=TODAY + timedelta(days=181)), SkipReason.BEYOND_HORIZON),
    (contract(currency="XYZ"), SkipReason.UNKNOWN_CURRENCY),
    (contract(lines=()), SkipReason.NO_LINES),
    (contract(lines=(line(1), line(2, price=None))), SkipReason.LINE_WITHOUT_PRICE),
    (contract(lines=(line(1, price="0"),)), SkipReason.NON_POSITIVE_AMOUNT),
    (contract(lines=(line(1, price="-5"),)), SkipReason.NON_POSITIVE_AMOUNT),
    # A product whose (net) quantity is zero or less is not renewed (rules.lines): a
    # contract with nothing else has nothing left to renew.
    (contract(lines=(line(1, qty="0"),)), SkipReason.NO_LINES),
    (contract(lines=(line(1, qty="-1"),)), SkipReason.NO_LINES),
    (contract(term_months=0), SkipReason.INVALID_TERM),
])
def test_contracts_left_out_say_why(made: Contract, reason: SkipReason) -> None:
    plan = _plan(made, contract("800OK"))
    assert [(s.contract_id, s.reason) for s in plan.skipped] == [(made.id, reason)]
    assert plan.skipped[0].detail  # a sentence, not just a code
    assert [r.contract_ids for r in plan.renewals] == [("800OK",)]


def test_zero_and_negative_amounts_name_the_line() -> None:
    plan = _plan(contract(lines=(line(7, price="-5"),)))
    assert "L7" in plan.skipped[0].detail
    assert plan.renewals == ()


def test_contracts_renewed_by_a_person_are_left_alone() -> None:
    theirs = existing("006PERSON", "800A", by_sfrenew=False, stage="Negotiation/Review")
    plan = _plan(contract("800A"), contract("800B"), existing=(theirs,))
    assert [(s.contract_id, s.reason) for s in plan.skipped] == [
        ("800A", SkipReason.ALREADY_RENEWED_BY_PERSON)]
    assert "006PERSON" in plan.skipped[0].detail
    assert [r.contract_ids for r in plan.renewals] == [("800B",)]


def test_an_open_sfrenew_renewal_keeps_its_stage_for_the_forecast() -> None:
    key = renewal_key(ACCOUNT.id, contract_ids=["800A"], start=date(2024, 4, 1))
    ours = existing("006OURS", "800A", by_sfrenew=True, stage="Negotiation/Review", key=key)
    renewal = _plan(contract("800A"), existing=(ours,)).renewals[0]
    assert renewal.key == key
    assert (renewal.existing_opportunity_id, renewal.stage) == ("006OURS", "Negotiation/Review")
    assert renewal.forecast is ForecastCategory.COMMIT
    high = _plan(contract("800A"), existing=(ours,),
                 risk=RiskSignals(health_score=Decimal(1), champion_gone=True,
                                  open_high_severity_cases=5, payment_days_overdue=60))
    assert high.renewals[0].risk.level is RiskLevel.HIGH
    assert high.renewals[0].forecast is ForecastCategory.BEST_CASE  # never Commit
    assert high.renewals[0].forecast_capped


def test_an_open_renewal_keeps_its_key_when_dates_move_so_tasks_are_re_dated() -> None:
    first = _plan(contract("800A")).renewals[0]
    ours = existing("006OURS", "800A", by_sfrenew=True, stage="Prospecting",
                           key=first.key)
    moved = _plan(contract("800A", end=date(2024, 4, 30)), existing=(ours,)).renewals[0]
    assert moved.start_date == date(2024, 5, 1)
    assert moved.key == first.key
    assert {t.step: t.key for t in moved.tasks} == {t.step: t.key for t in first.tasks}
    assert [ln.key for ln in moved.lines] == [ln.key for ln in first.lines]
    due = {t.step: t.due_date for t in first.tasks}
    assert {t.step: t.due_date for t in moved.tasks}["escalation"] != due["escalation"]
    # a contract joining the group: the same opportunity, now with both contracts' lines
    grown = _plan(contract("800A"), contract("800B", end=date(2024, 4, 10)),
                  existing=(ours,)).renewals[0]
    assert (grown.key, grown.contract_ids) == (first.key, ("800A", "800B"))


def test_a_closed_renewal_is_not_planned_again() -> None:
    won = existing("006WON", "800A", by_sfrenew=True, stage="Closed Won",
                          closed=True)
    plan = _plan(contract("800A"), existing=(won,))
    assert [s.reason for s in plan.skipped] == [SkipReason.RENEWAL_CLOSED]


def test_mixed_currencies_are_never_co_termed() -> None:
    plan = _plan(contract("800A"), contract("800B", currency="EUR"),
                 contract("800C", end=date(2024, 4, 10)))
    assert sorted((r.currency, r.contract_ids) for r in plan.renewals) == [
        ("EUR", ("800B",)), ("USD", ("800A", "800C"))]


def test_co_termed_group_earliest_anchor_prorates_the_later_contract() -> None:
    plan = _plan(contract("800A", end=date(2024, 3, 31)),
                 contract("800B", end=date(2024, 4, 20), lines=(line(2, price="1200"),)))
    (renewal,) = plan.renewals
    assert (renewal.start_date, renewal.end_date, renewal.close_date) == (
        date(2024, 4, 1), date(2025, 3, 31), date(2024, 3, 31))
    a, b = renewal.lines
    assert (a.start_date, a.end_date, a.amount) == (date(2024, 4, 1), date(2025, 3, 31),
                                                    Decimal("10500.00"))
    # 800B: 2024-04-21 -> 2025-03-31 is a 10-day stub (Apr 21-30) + 11 months by month_day:
    # 12,600 × (11/12 + 10/365) = 11,550 + 345.205... = 11,895.21
    assert b.proration.fraction_text == "11/12 + 10/365"
    assert b.amount == Decimal("11895.21")
    assert renewal.amount == a.amount + b.amount
    assert [o.chosen for o in renewal.coterm.comparison] == [True, False, False, False]


def test_worked_example_through_the_planner() -> None:
    """A contract ending 2023-10-14, co-termed to a June 30 fiscal year end."""
    made = contract("800W", end=date(2023, 10, 14), lines=(line(1, price="12000", qty="1"),))
    for method, amount in [(ProrationMethod.DAY, "8547.95"), (ProrationMethod.MONTH, "9000.00"),
                           (ProrationMethod.MONTH_DAY, "8558.90"),
                           (ProrationMethod.ACTUAL_PERIOD, "8548.39"),
                           (ProrationMethod.THIRTY_360, "8566.67")]:
        policy = replace(
            POLICY, proration=method,
            coterm=CotermPolicy(anchor=AnchorPolicy.CALENDAR, calendar_month=6, calendar_day=30),
            uplift=UpliftPolicy(pricing=PricingMethod.SAME))
        plan = plan_account(account=ACCOUNT, contracts=[made], today=date(2023, 10, 1),
                            policy=policy)
        (renewal,) = plan.renewals
        assert (renewal.start_date, renewal.end_date) == (date(2023, 10, 15), date(2024, 6, 30))
        assert renewal.lines[0].amount == Decimal(amount), method
        assert renewal.lines[0].proration.method is method


def test_multi_year_renewal_compounds_yearly() -> None:
    made = contract("800M", lines=(line(1, price="1000", qty="1"),), renewal_term_months=36)
    (renewal,) = _plan(made).renewals
    assert renewal.lines[0].unit_prices == (Decimal("1050.00"), Decimal("1102.50"),
                                            Decimal("1157.63"))
    assert renewal.amount == Decimal("3310.13")
    flat = replace(POLICY, uplift=UpliftPolicy(compound_multi_year=False))
    assert _plan(made, policy=flat).renewals[0].amount == Decimal("3150.00")


def test_latest_anchor_extends_an_earlier_contract_past_a_year_year_by_year() -> None:
    """800A is stretched to 800B's 36-month end: each 12-month segment at its year's price."""
    policy = replace(POLICY, coterm=CotermPolicy(anchor=AnchorPolicy.LATEST),
                     proration=ProrationMethod.MONTH)
    plan = _plan(contract("800A", lines=(line(1, price="1000", qty="1"),)),
                 contract("800B", end=date(2024, 4, 30), renewal_term_months=36,
                          lines=(line(2, price="1000", qty="1"),)),
                 policy=policy)
    (renewal,) = plan.renewals
    assert renewal.end_date == date(2027, 4, 30)
    a, b = renewal.lines
    assert (a.start_date, a.end_date) == (date(2024, 4, 1), date(2027, 4, 30))
    # 37 months: years of 1,050.00, 1,102.50, 1,157.63 and one month at 1,215.51
    assert a.unit_prices == (P("1050.00"), P("1102.50"), P("1157.63"), P("1215.51"))
    assert a.amount == P("1050.00") + P("1102.50") + P("1157.63") + (P("1215.51") / 12) \
        .quantize(P("0.01"))
    assert b.amount == P("3310.13")
    by_policy = {o.policy: o for o in renewal.coterm.comparison}
    assert by_policy[AnchorPolicy.LATEST].overlap_days == (date(2027, 4, 30)
                                                           - date(2025, 3, 31)).days
    assert by_policy[AnchorPolicy.EARLIEST].amount < renewal.amount


def test_jpy_amounts_have_no_decimals() -> None:
    made = contract("800J", currency="JPY", end=date(2024, 4, 20),
                    lines=(line(1, price="123457", qty="3"),))
    plan = _plan(contract("800X", currency="JPY"), made)
    for renewal in plan.renewals:
        assert renewal.amount.as_tuple().exponent == 0
        assert all(ln.amount.as_tuple().exponent == 0 for ln in renewal.lines)


def test_keys_do_not_depend_on_input_order() -> None:
    a, b = contract("800A"), contract("800B", end=date(2024, 4, 5))
    assert _plan(a, b) == _plan(b, a)
    renewal = _plan(a, b).renewals[0]
    assert renewal.key == renewal_key(ACCOUNT.id, contract_ids=["800B", "800A"],
                                      start=date(2024, 4, 1))
    assert len({ln.key for ln in renewal.lines}) == len(renewal.lines)


def test_explanations_fit_salesforce_fields() -> None:
    many = tuple(line(i, price=f"{100 + i}") for i in range(400))
    long_name = replace(line(999), product_name="X" * 3000)
    plan = _plan(contract("800A", lines=(*many, long_name)))
    renewal = plan.renewals[0]
    assert len(renewal.explanation) <= 32_000
    assert renewal.explanation.endswith("plan)")  # said it was cut
    assert all(len(ln.explanation) <= 1_000 for ln in renewal.lines)


def test_explanation_speaks_plainly() -> None:
    plan = _plan(contract("800A"), contract("800B", end=date(2024, 4, 20)),
                 risk=RiskSignals(champion_gone=True, health_score=Decimal(40)))
    text = plan.renewals[0].explanation
    for phrase in ["Renewal of 2 contracts for Acme Corp", "Why these dates", "co-terming",
                   "the champion contact has left", "Forecast: Pipeline", "Tasks",
                   "uplift 5% from the default uplift", "latest: ends"]:
        assert phrase in text


@settings(max_examples=60, deadline=None)
@given(made=accounts_contracts, risk=signals,
       anchor=st.sampled_from(list(AnchorPolicy)), method=st.sampled_from(list(ProrationMethod)))
def test_plan_properties(made: tuple[Contract, ...], risk: RiskSignals, anchor: AnchorPolicy,
                         method: ProrationMethod) -> None:
    policy = replace(POLICY, proration=method, coterm=CotermPolicy(anchor=anchor))
    plan = _plan(*made, policy=policy, risk=risk)
    # planning the same input twice gives equal plans, keys included
    assert plan == _plan(*made, policy=policy, risk=risk)
    assert len(plan.renewals) + len(plan.skipped) <= len(made)
    renewed = [c for r in plan.renewals for c in r.contract_ids]
    assert len(renewed) == len(set(renewed))
    assert set(renewed) | {s.contract_id for s in plan.skipped} == {c.id for c in made}
    for renewal in plan.renewals:
        decimals = policy.currencies[renewal.currency]
        # a co-termed group's lines all end the same date
        assert {ln.end_date for ln in renewal.lines} == {renewal.end_date}
        assert all(ln.start_date <= ln.end_date for ln in renewal.lines)
        assert all(ln.amount.as_tuple().exponent == -decimals for ln in renewal.lines)
        assert renewal.amount == sum(ln.amount for ln in renewal.lines)
        assert len(set(renewal.contract_ids)) == len(renewal.coterm.members)
        assert {made_c.currency for made_c in made if made_c.id in renewal.contract_ids} == \
            {renewal.currency}
        assert len(renewal.explanation) <= 32_000
        assert len({t.key for t in renewal.tasks}) == len(renewal.tasks)
        chosen = [o for o in renewal.coterm.comparison if o.chosen]
        assert [(o.policy, o.end_date, o.amount) for o in chosen] == [
            (anchor, renewal.end_date, renewal.amount)]
        by_id = {c.id: c for c in made}
        assert len(renewal.lines) == sum(len(by_id[c].lines) for c in renewal.contract_ids)
        starts = {m.contract_id: m.start for m in renewal.coterm.members}
        assert all(ln.start_date == starts[ln.contract_id] for ln in renewal.lines)
        assert renewal.start_date == min(starts.values())


def _amended(*extra: ContractLine) -> Contract:
    original = line(1, price="1200", qty="100")
    return contract("800AM", lines=(original, *extra))


def test_an_amendment_downsell_renews_the_net_quantity() -> None:
    """Item 6: 100 units, then an amendment of −20 of the same product, renew as 80."""
    downsell = ContractLine(id="L9", product_id="P1", product_name="Product 1",
                            quantity=Decimal(-20), annual_price=Decimal(1200),
                            start_date=date(2023, 10, 1))
    flat = replace(POLICY, proration=ProrationMethod.MONTH,
                   uplift=UpliftPolicy(default_rate=Decimal("0.05")))
    (renewal,) = _plan(_amended(downsell), policy=flat).renewals
    (planned,) = renewal.lines
    # 80 × 1,200 × 1.05 × 12/12 = 100,800.00 (on the original code: no renewal at all).
    assert (planned.quantity, planned.amount) == (Decimal(80), Decimal("100800.00"))
    assert planned.source_line_id == "L1"  # the original line: its key stays put
    assert planned.key == line_key(renewal.key, contract_id="800AM", source_line_id="L1")
    assert planned.explanation.endswith(
        "Quantity netted from amendments: Product 1: quantity 100 − 20 (amendment) = 80.")
    assert "Product 1: quantity 100 − 20 (amendment) = 80" in renewal.explanation


def test_a_product_netted_out_is_not_renewed_and_said_so() -> None:
    gone = ContractLine(id="L9", product_id="P1", product_name="Product 1",
                        quantity=Decimal(-100), annual_price=Decimal(1200))
    kept = line(2, price="500", qty="3")
    plan = _plan(_amended(gone, kept))
    assert plan.skipped == ()
    (renewal,) = plan.renewals
    assert [ln.source_line_id for ln in renewal.lines] == ["L2"]
    assert ("Not renewed\n- Contract 000000AM: Product 1: quantity 100 − 100 (amendment) = 0; "
            "nothing left to renew, so it is not renewed.") in renewal.explanation


def test_a_contract_with_nothing_left_is_skipped_with_the_reason() -> None:
    ended = ContractLine(id="L9", product_id="P1", product_name="Product 1",
                         quantity=Decimal(10), annual_price=Decimal(1200),
                         terminated_date=date(2023, 12, 31))
    plan = _plan(contract("800T", lines=(ended,)))
    assert plan.renewals == ()
    (skipped,) = plan.skipped
    assert skipped.reason is SkipReason.NO_LINES
    assert skipped.detail == (
        "nothing is left to renew: Product 1 × 10 terminated 2023-12-31, before the "
        "contract's end (2024-03-31); not renewed")
