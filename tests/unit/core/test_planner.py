"""The planner: skipped contracts with reasons, groups, keys, determinism, amounts."""

from dataclasses import replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
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
from sfrenew.core.formula import parse
from sfrenew.core.keys import adopted_renewal_key, line_key, renewal_key, task_key
from sfrenew.core.plan import RenewalPlan, SkipReason
from sfrenew.core.planner import plan_account
from sfrenew.core.policy import (
    AdoptionPolicy,
    AnchorPolicy,
    ContractualUplift,
    CotermPolicy,
    ForecastCategory,
    LapsePolicy,
    PricingMethod,
    ProrationMethod,
    RiskAdjustment,
    RulesPolicy,
    TermCompatibility,
    UpliftPolicy,
)
from sfrenew.core.rules.adoption import describe
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
    # Dirty data (issue 16): reported with what to fix, never renewed on a guess.
    (replace(contract(), start_date=date(2024, 4, 1)), SkipReason.END_BEFORE_START),
    (contract(currency="EUR", lines=(replace(line(1), currency="USD"),)),
     SkipReason.CURRENCY_MISMATCH),
])
def test_contracts_left_out_say_why(made: Contract, reason: SkipReason) -> None:
    plan = _plan(made, contract("800OK"))
    assert [(s.contract_id, s.reason) for s in plan.skipped] == [(made.id, reason)]
    assert plan.skipped[0].detail  # a sentence, not just a code
    assert [r.contract_ids for r in plan.renewals] == [("800OK",)]


@pytest.mark.parametrize(("made", "words"), [
    # ends 2024-03-31, starts 2024-04-01: a 12-month renewal was planned before.
    (replace(contract(), start_date=date(2024, 4, 1)),
     ["end date 2024-03-31 is before its start date 2024-04-01", "correct"]),
    # a EUR contract with a USD line: before, renewed in USD with an explanation in EUR.
    (contract(currency="EUR", lines=(line(1), replace(line(2), currency="USD"))),
     ["in EUR but line L2 (Product 2) is in USD", "make the lines' currency"]),
])
def test_dirty_contracts_say_what_to_fix(made: Contract, words: list[str]) -> None:
    plan = _plan(made)
    assert plan.renewals == ()
    assert all(w in plan.skipped[0].detail for w in words), plan.skipped[0].detail


def test_a_line_in_the_contracts_own_currency_or_none_renews() -> None:
    made = contract(currency="EUR", lines=(replace(line(1), currency="EUR"), line(2)))
    plan = _plan(made)
    assert plan.skipped == ()
    assert plan.renewals[0].currency == "EUR"


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
    # 800B: 2024-04-21 -> 2025-03-31 is a 10-day stub (Apr 21-30) + 11 months by month_day.
    # The unit price for that period: 1,260 × (11/12 + 10/365) = 1,155 + 34.5205… = 1,189.52;
    # the line total is 10 × 1,189.52 = 11,895.20 (Salesforce's Quantity × UnitPrice; rounding
    # the total 12,600 × the fraction instead would give 11,895.21, a cent off the rollup).
    assert b.proration.fraction_text == "11/12 + 10/365"
    assert b.term_unit_price == Decimal("1189.52")
    assert b.amount == Decimal("11895.20")
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
    """800A is stretched to 800B's 36-month end: each 12-month segment at its year's price.

    Only a policy that mixes terms and allows a change of term does this (and flags it).
    """
    policy = replace(POLICY, coterm=CotermPolicy(anchor=AnchorPolicy.LATEST,
                                                 term_compatibility=TermCompatibility.ANY,
                                                 allow_term_change=True),
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
    # 800A's 12-month term (2024-04-01 → 2025-03-31) now ends 2027-04-30: 37 months
    assert renewal.approval_reasons == (
        "the 12-month term of contract 0000800A is extended to 37 months (2024-04-01 to "
        "2027-04-30 instead of 2025-03-31) to co-term with contract 0000800B",)


@pytest.mark.parametrize(("made", "policy", "expected"), [
    # 10 × 1,000.00 a year, uplift 5% (the default) → 1,050.00; 36 months, compounding off:
    # UnitPrice 1,050.00 × 36/12 = 3,150.00 for the term, Amount 10 × 3,150.00 = 31,500.00;
    # prior ARR 10 × 1,000.00 = 10,000.00, renewal ARR 10 × 1,050.00 = 10,500.00, uplift 500.00.
    (contract("800T", renewal_term_months=36), replace(
        POLICY, uplift=UpliftPolicy(compound_multi_year=False)),
     ("3150.00", "1050.00", "31500.00", "10000.00", "10500.00", "500.00", 36)),
    # Compounding on: 1,050.00 + 1,102.50 + 1,157.63 = 3,310.13 a unit, × 10 = 33,101.30;
    # the ARR is year one's (10,500.00).
    (contract("800T", renewal_term_months=36), POLICY,
     ("3310.13", "1050.00", "33101.30", "10000.00", "10500.00", "500.00", 36)),
    # 12 months, 3 units at 333.33 kept (same): UnitPrice 333.33, Amount 999.99;
    # ARR 3 × 333.33 = 999.99 before and after, uplift 0.00.
    (contract("800S", lines=(line(1, price="333.33", qty="3"),)), replace(
        POLICY, uplift=UpliftPolicy(pricing=PricingMethod.SAME)),
     ("333.33", "333.33", "999.99", "999.99", "999.99", "0.00", 12)),
    # List price below the prior price: 2 × 900.00 (list) against 2 × 1,000.00 (prior):
    # ARR 2,000.00 → 1,800.00, uplift amount −200.00.
    (contract("800L", lines=(line(1, price="1000", qty="2", list_price="900"),)), replace(
        POLICY, uplift=UpliftPolicy(pricing=PricingMethod.LIST)),
     ("900.00", "900.00", "1800.00", "2000.00", "1800.00", "-200.00", 12)),
])
def test_forecast_figures_and_term_unit_price(made: Contract, policy: RulesPolicy,
                                              expected: tuple[object, ...]) -> None:
    (renewal,) = _plan(made, policy=policy).renewals
    (ln,) = renewal.lines
    f = renewal.figures
    assert (str(ln.term_unit_price), str(ln.unit_price), str(renewal.amount), str(f.prior_arr),
            str(f.renewal_arr), str(f.uplift_amount), f.term_months) == expected
    assert ln.amount == renewal.amount


def test_figures_of_a_co_termed_group_count_full_years() -> None:
    """Renewal ARR is annual: 800B's line, 10 days and 11 months long, counts a full year."""
    plan = _plan(contract("800A", end=date(2024, 3, 31)),
                 contract("800B", end=date(2024, 4, 20), lines=(line(2, price="1200"),)))
    (renewal,) = plan.renewals
    # prior 10 × 1,000 + 10 × 1,200 = 22,000.00; renewal 10 × 1,050 + 10 × 1,260 = 23,100.00;
    # 2024-04-01 → 2025-03-31 is 12 months.
    assert renewal.figures == (P("22000.00"), P("23100.00"), P("1100.00"), 12)
    # Amount: 10,500.00 + 10 × 1,189.52 = 22,395.20
    assert renewal.amount == P("22395.20")
    assert "Annual value (ARR): 22,000.00 USD before, 23,100.00 USD in the renewal's first " \
        "year (+1,100.00 USD); term 12 months." in renewal.derivation


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
    assert len(renewal.derivation) <= 32_000
    assert renewal.derivation.endswith("plan)")  # said it was cut
    assert all(len(ln.explanation) <= 1_000 for ln in renewal.lines)


def test_explanation_speaks_plainly() -> None:
    plan = _plan(contract("800A"), contract("800B", end=date(2024, 4, 20)),
                 risk=RiskSignals(champion_gone=True, health_score=Decimal(40)))
    text = plan.renewals[0].derivation
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
        # Salesforce's rollup: Amount = Σ TotalPrice = Σ Quantity × UnitPrice, to the cent
        quantum = Decimal(1).scaleb(-decimals)
        assert all(ln.term_unit_price.as_tuple().exponent == -decimals for ln in renewal.lines)
        assert renewal.amount == sum((ln.quantity * ln.term_unit_price).quantize(
            quantum, rounding=ROUND_HALF_UP) for ln in renewal.lines)
        figures = renewal.figures
        assert figures.prior_arr == sum((ln.quantity * ln.prior_unit_price
                                         for ln in renewal.lines), Decimal(0)).quantize(
            quantum, rounding=ROUND_HALF_UP)
        assert figures.uplift_amount == figures.renewal_arr - figures.prior_arr
        assert figures.term_months >= 1
        assert len(set(renewal.contract_ids)) == len(renewal.coterm.members)
        assert {made_c.currency for made_c in made if made_c.id in renewal.contract_ids} == \
            {renewal.currency}
        assert len(renewal.derivation) <= 32_000
        assert len({t.key for t in renewal.tasks}) == len(renewal.tasks)
        chosen = [o for o in renewal.coterm.comparison if o.chosen]
        assert [(o.policy, o.end_date, o.amount) for o in chosen] == [
            (anchor, renewal.end_date, renewal.amount)]
        by_id = {c.id: c for c in made}
        assert len(renewal.lines) == sum(len(by_id[c].lines) for c in renewal.contract_ids)
        starts = {m.contract_id: m.start for m in renewal.coterm.members}
        assert all(ln.start_date == starts[ln.contract_id] for ln in renewal.lines)
        assert renewal.start_date == min(starts.values())


def _example_uplift(contractual: ContractualUplift) -> UpliftPolicy:
    """config.example.yaml's uplift: index min(rate, 3.1% + 1%), cap 10%, High risk 0%."""
    return UpliftPolicy(cap=P("0.10"), floor=P("0"),
                        index_formula=parse("max(floor, min(rate, cpi + spread))"),
                        index_values={"cpi": P("0.031"), "spread": P("0.01")},
                        risk_adjustments={RiskLevel.HIGH: RiskAdjustment(max_rate=P("0"))},
                        contractual=contractual)


@pytest.mark.parametrize(("contractual", "high_risk", "rate", "approval"), [
    (ContractualUplift(), False, "0.07", False),  # 7% contractual: kept (was 4.1%)
    (ContractualUplift(), True, "0.07", False),  # High risk does not touch it (was 0%)
    (ContractualUplift(index=True), False, "0.041", True),  # the policy says so: approval
    (ContractualUplift(risk=True), True, "0", True),
])
def test_contractual_rate_through_the_planner(contractual: ContractualUplift, high_risk: bool,
                                              rate: str, approval: bool) -> None:
    made = contract("800C", uplift_rate=P("0.07"), lines=(line(1, price="1000", qty="1"),))
    ruled = contract("800R", end=date(2024, 4, 5), lines=(line(2, price="1000", qty="1"),))
    risky = RiskSignals(health_score=P(10), champion_gone=True, payment_days_overdue=90,
                        open_high_severity_cases=1) if high_risk else None
    policy = replace(POLICY, uplift=_example_uplift(contractual))
    (renewal,) = _plan(made, ruled, policy=policy, risk=risky).renewals
    by_contract = {li.contract_id: li for li in renewal.lines}
    contractual_line, rule_line = by_contract["800C"], by_contract["800R"]
    assert contractual_line.uplift.rate == P(rate)
    assert contractual_line.uplift.overrides_contract is approval
    # 1,000 × (1 + rate), a full 12-month term
    assert contractual_line.amount == (P(1000) * (1 + P(rate))).quantize(P("0.01"))
    assert rule_line.uplift.rate == (P(0) if high_risk else P("0.041"))  # 5% → 4.1% / 0%
    # 7% → 4.1% (index) or 0% (High risk), said at the top of the opportunity
    words = {"0.07": "7%", "0.041": "4.1%", "0": "0%"}[rate]
    reason = (f"the uplift policy changed the contractual 7% of contract 0000800C to {words} "
              "on 1 line")
    assert renewal.approval_reasons == ((reason,) if approval else ())
    assert (f"- {reason[:1].upper()}{reason[1:]}." in renewal.derivation) is approval
    assert ("(contractual)" in contractual_line.explanation)


@pytest.mark.parametrize(("method", "prices", "amount", "note"), [
    # 1 unit, prior 1,000 a year, list 1,200, contract uplift 5%, a 36-month renewal;
    # CPQ applies the uplift once to the term (compound_multi_year auto):
    (PricingMethod.SAME, ("1000.00",) * 3, "3000.00", "Same"),  # 3 × 1,000
    (PricingMethod.UPLIFT, ("1050.00",) * 3, "3150.00", "Uplift"),  # 3 × 1,000 × 1.05
    (PricingMethod.LIST, ("1200.00",) * 3, "3600.00", "List"),  # 3 × 1,200
    # without an account method the policy's pricing (uplift) compounds: 1,050.00,
    # 1,102.50, 1,157.63 = 3,310.13 (unchanged)
    (None, ("1050.00", "1102.50", "1157.63"), "3310.13", None),
])
def test_the_accounts_renewal_pricing_method(method: PricingMethod | None,
                                             prices: tuple[str, ...], amount: str,
                                             note: str | None) -> None:
    made = contract("800P", uplift_rate=P("0.05"), renewal_term_months=36,
                    lines=(line(1, price="1000", qty="1", list_price="1200"),))
    account = replace(ACCOUNT, renewal_pricing=method)
    (renewal,) = plan_account(account=account, contracts=[made], today=TODAY,
                              policy=POLICY).renewals
    (planned,) = renewal.lines
    assert planned.unit_prices == tuple(P(p) for p in prices)
    assert renewal.amount == P(amount)
    if note is None:
        assert planned.uplift.pricing_note is None
    else:
        words = f"priced by the account's Renewal Pricing Method: {note}"
        assert planned.uplift.pricing_note == words
        assert words in planned.explanation


def test_account_list_method_without_a_price_book_entry_says_both() -> None:
    made = contract("800Q", lines=(line(1, price="1000", qty="1"),))
    account = replace(ACCOUNT, renewal_pricing=PricingMethod.LIST)
    (renewal,) = plan_account(account=account, contracts=[made], today=TODAY,
                              policy=POLICY).renewals
    (planned,) = renewal.lines
    assert planned.unit_price == P("1050.00")  # 1,000 × 1.05 (default rate)
    assert planned.uplift.pricing_note == (
        "priced by the account's Renewal Pricing Method: List; no price book entry; "
        "priced by uplift instead")


# The worked defaults, on TODAY = 2024-03-01.
def test_two_annual_contracts_40_days_apart_co_term_the_later_one_40_days_short() -> None:
    plan = _plan(contract("800A", end=date(2024, 3, 31)),
                 contract("800B", end=date(2024, 5, 10)))
    (renewal,) = plan.renewals
    a, b = renewal.lines
    # 800B: 2024-05-11 → 2025-03-31 (its own term would end 2025-05-10: 40 days later)
    assert (b.start_date, b.end_date) == (date(2024, 5, 11), date(2025, 3, 31))
    assert (a.start_date, a.end_date) == (date(2024, 4, 1), date(2025, 3, 31))
    assert renewal.coterm.term_changes == ()
    assert renewal.approval_reasons == ()
    assert not renewal.needs_approval
    assert ("Contract 0000800B ends 2024-05-10; its renewal starts 2024-05-11. Its 12-month "
            "term would end 2025-05-10; co-terming ends it on 2025-03-31, 40 days sooner: "
            "10 months and 21 days (a stub within the co-term window, not a change of term)."
            ) in renewal.derivation
    assert "2024-04-01 to 2025-03-31 (12 months)" in renewal.derivation


def test_a_36_month_and_a_12_month_contract_renew_separately_each_its_full_term() -> None:
    plan = _plan(contract("800A", end=date(2024, 3, 31)),
                 contract("800B", end=date(2024, 4, 20), renewal_term_months=36))
    assert [(r.contract_ids, r.start_date, r.end_date) for r in plan.renewals] == [
        (("800A",), date(2024, 4, 1), date(2025, 3, 31)),  # + 12 months - 1 day
        (("800B",), date(2024, 4, 21), date(2027, 4, 20))]  # + 36 months - 1 day
    assert all(not r.needs_approval for r in plan.renewals)
    assert ("its renewal starts 2024-04-21 and runs its full 36-month term to 2027-04-20"
            in plan.renewals[1].derivation)


def test_an_annual_and_a_monthly_contract_only_the_annual_renews_12_months() -> None:
    plan = _plan(contract("800A", end=date(2024, 3, 31)),
                 contract("800M", end=date(2024, 3, 20), term_months=1))
    (renewal,) = plan.renewals
    assert (renewal.contract_ids, renewal.end_date) == (("800A",), date(2025, 3, 31))
    # 10 × 1,000 a year, +5% for the full 12 months: 10,500.00 (not a one-month 875.00)
    assert renewal.amount == Decimal("10500.00")
    (skip,) = plan.skipped
    assert (skip.contract_id, skip.reason) == ("800M", SkipReason.BELOW_MIN_TERM)
    assert skip.detail == (
        "its renewal term is 1 month, below rules.eligibility.min_term_months (3): a "
        "month-to-month contract renews by itself, so it gets no renewal opportunity; to "
        "renew it on one, lower min_term_months to 1")


def test_a_policy_that_shortens_a_multi_year_term_says_so_and_needs_approval() -> None:
    policy = replace(POLICY, coterm=CotermPolicy(term_compatibility=TermCompatibility.ANY,
                                                 allow_term_change=True))
    plan = _plan(contract("800A", end=date(2024, 3, 31)),
                 contract("800B", end=date(2024, 4, 20), renewal_term_months=36),
                 policy=policy)
    (renewal,) = plan.renewals
    # 800B: 2024-04-21 → 2025-03-31 is 11 months (to 2025-03-20) and 11 days
    reason = ("the 36-month term of contract 0000800B is shortened to 11 months and 11 days "
              "(2024-04-21 to 2025-03-31 instead of 2027-04-20) to co-term with contract "
              "0000800A")
    assert renewal.approval_reasons == (reason,)
    assert renewal.needs_approval
    assert [(c.contract_id, c.shift_days) for c in renewal.coterm.term_changes] == [
        ("800B", -750)]  # 2027-04-20 - 2025-03-31
    text = renewal.derivation
    assert "Needs approval\n- The 36-month term of contract 0000800B is shortened" in text
    assert "That changes the contract's term, so the renewal needs approval." in text


def test_the_calendar_anchor_flags_a_move_beyond_the_window() -> None:
    policy = replace(POLICY, coterm=CotermPolicy(anchor=AnchorPolicy.CALENDAR))
    (renewal,) = _plan(contract("800A", end=date(2024, 3, 31)), policy=policy).renewals
    # 2024-04-01 → 2024-12-31 instead of 2025-03-31: 90 days sooner, beyond 60
    assert renewal.end_date == date(2024, 12, 31)
    assert renewal.approval_reasons == (
        "the 12-month term of contract 0000800A is shortened to 9 months (2024-04-01 to "
        "2024-12-31 instead of 2025-03-31) to co-term with the fixed calendar date "
        "2024-12-31",)


@pytest.mark.parametrize(("made", "reason", "advice"), [
    (contract("800E", evergreen=True), SkipReason.EVERGREEN,
     "set rules.eligibility.renew_evergreen: true"),
    (contract("800E", end=None, evergreen=True), SkipReason.EVERGREEN,
     "renews by itself until cancelled"),
    (contract("800M", term_months=2), SkipReason.BELOW_MIN_TERM,
     "lower min_term_months to 2"),
])
def test_self_renewing_contracts_are_skipped_with_their_own_reason(
        made: Contract, reason: SkipReason, advice: str) -> None:
    plan = _plan(made)
    assert plan.renewals == ()
    ((contract_id, found, detail),) = plan.skipped
    assert (contract_id, found) == (made.id, reason)
    assert advice in detail


def test_an_earlier_renewal_of_a_monthly_contract_is_left_alone_and_said() -> None:
    key = renewal_key(ACCOUNT.id, contract_ids=["800M"], start=date(2024, 3, 21))
    ours = existing("006OLD", "800M", by_sfrenew=True, stage="Prospecting", key=key)
    plan = _plan(contract("800M", end=date(2024, 3, 20), term_months=1), existing=(ours,))
    assert plan.renewals == ()
    assert [(r.opportunity_id, r.key, r.contract_id, r.reason) for r in plan.left_alone] == [
        ("006OLD", key, "800M", SkipReason.BELOW_MIN_TERM)]
    assert ("its open renewal opportunity 006OLD (made by sfrenew earlier) is left as it is"
            in plan.skipped[0].detail)
    # a closed one is history, not left alone; one that also names a renewing contract
    # is continued by that contract's renewal
    closed = existing("006WON", "800M", by_sfrenew=True, stage="Closed Won", closed=True)
    assert _plan(contract("800M", term_months=1), existing=(closed,)).left_alone == ()
    shared = existing("006BOTH", "800M", "800A", by_sfrenew=True, stage="Prospecting")
    both = _plan(contract("800M", term_months=1), contract("800A"), existing=(shared,))
    assert both.renewals[0].existing_opportunity_id == "006BOTH"
    assert both.left_alone == ()
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
    assert "Product 1: quantity 100 − 20 (amendment) = 80" in renewal.derivation


def test_a_product_netted_out_is_not_renewed_and_said_so() -> None:
    gone = ContractLine(id="L9", product_id="P1", product_name="Product 1",
                        quantity=Decimal(-100), annual_price=Decimal(1200))
    kept = line(2, price="500", qty="3")
    plan = _plan(_amended(gone, kept))
    assert plan.skipped == ()
    (renewal,) = plan.renewals
    assert [ln.source_line_id for ln in renewal.lines] == ["L2"]
    assert ("Not renewed\n- Contract 000000AM: Product 1: quantity 100 − 100 (amendment) = 0; "
            "nothing left to renew, so it is not renewed.") in renewal.derivation


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


# --- people's deletions and hand-made renewals (issue 15 items 3 and 4) ---------------

def _two_lines() -> Contract:
    return contract(lines=(line(1), line(2, price="200", qty="5")))


def test_a_line_a_person_deleted_is_left_out_and_named() -> None:
    (whole,) = _plan(_two_lines()).renewals
    removed = next(ln for ln in whole.lines if ln.source_line_id == "L2")
    plan = plan_account(account=ACCOUNT, contracts=(_two_lines(),), today=TODAY,
                        policy=POLICY, deleted_keys=frozenset({removed.key}))
    (renewal,) = plan.renewals
    assert renewal.key == whole.key
    assert [ln.source_line_id for ln in renewal.lines] == ["L1"]
    # prior ARR 10 × 1,000 = 10,000 (not + 5 × 200 = 11,000); the amount is line 1's alone
    assert renewal.figures.prior_arr == P("10000.00")
    assert renewal.amount == next(ln.amount for ln in whole.lines if ln.source_line_id == "L1")
    assert "Product 2 (line L2) was removed from this renewal by a person" in \
        renewal.explanation


def test_a_renewal_a_person_deleted_is_not_planned_again() -> None:
    (whole,) = _plan(_two_lines()).renewals
    plan = plan_account(account=ACCOUNT, contracts=(_two_lines(),), today=TODAY,
                        policy=POLICY, deleted_keys=frozenset({whole.key}))
    assert plan.renewals == ()
    assert [(s.contract_id, s.reason) for s in plan.skipped] == [
        ("800A", SkipReason.RENEWAL_DELETED_BY_PERSON)]


def _hand_made(opp_id: str, days: int, *, renewal_type: bool = True) -> ExistingRenewal:
    return ExistingRenewal(opportunity_id=opp_id, contract_ids=(), created_by_sfrenew=False,
                           stage="Prospecting", close_date=date(2024, 3, 31)
                           + timedelta(days=days), renewal_type=renewal_type)


def test_a_hand_made_renewal_near_the_end_is_adopted_not_duplicated() -> None:
    # The contract ends 2024-03-31; the candidates close 2024-04-10 (+10), 2024-03-01
    # (-30) and 2024-07-09 (+100, outside the default 45-day window).
    plan = _plan(contract(), existing=(_hand_made("006B", -30), _hand_made("006A", 10),
                                       _hand_made("006C", 100)))
    assert plan.skipped == ()
    (renewal,) = plan.renewals  # planned on the person's opportunity, not a new one
    assert renewal.adopted
    assert renewal.existing_opportunity_id == "006A"
    assert renewal.key == adopted_renewal_key("006A")
    assert renewal.stage == "Prospecting"  # the person's stage
    assert renewal.derivation.startswith("Adopted: opportunity 006A is an open renewal")
    assert renewal.explanation.startswith("A person opened this renewal")
    (adoption,) = plan.adopted
    said = describe(adoption, 45)  # how it was chosen: said by the run that adopts it
    assert "closing 2024-04-10 (10 days after" in said
    assert "other candidates not adopted: 006B" in said
    assert "006C" not in said
    assert {t.key for t in renewal.tasks} == {task_key(renewal.key, t.step)
                                              for t in renewal.tasks}
    assert [(a.contract_id, a.opportunity_id) for a in plan.adopted] == [("800A", "006A")]


def test_an_adopted_renewal_is_its_own_group_and_stays_adopted_on_later_runs() -> None:
    # 800A ends 2024-03-31, 800B 20 days later: they would co-term (60-day window).
    # 006A closes 2024-02-20: 40 days before 800A's end (adopted, window 45), 60 days
    # before 800B's (not).
    b = contract("800B", end=date(2024, 4, 20))
    plan = _plan(contract("800A"), b, existing=(_hand_made("006A", -40),))
    assert len(_plan(contract("800A"), b).renewals) == 1  # co-termed without 006A
    assert sorted((r.contract_ids, r.adopted) for r in plan.renewals) == [
        (("800A",), True), (("800B",), False)]
    # The next run sees 006A linked to 800A (the link sfrenew wrote) and adopted: the
    # same renewal, same key and tasks, and no candidate is looked for again.
    linked = ExistingRenewal(opportunity_id="006A", contract_ids=("800A",),
                             created_by_sfrenew=False, stage="Prospecting", adopted=True)
    later = _plan(contract("800A"), b, existing=(linked,))
    again = next(r for r in later.renewals if r.adopted)
    first = next(r for r in plan.renewals if r.adopted)
    assert (again.key, again.contract_ids, again.existing_opportunity_id) == (
        first.key, ("800A",), "006A")
    assert [t.key for t in again.tasks] == [t.key for t in first.tasks]
    # The same words too: a maintained renewal is not rewritten because it was adopted.
    assert (again.explanation, again.derivation) == (first.explanation, first.derivation)
    worked = replace(linked, stage="Negotiation/Review")  # the person's stage, read
    assert next(r for r in _plan(contract("800A"), b, existing=(worked,)).renewals
                if r.adopted).stage == "Negotiation/Review"
    assert later.adopted == ()
    # Closed by the person, it is theirs again: nothing is planned on it.
    closed = replace(linked, is_closed=True)
    assert [(s.contract_id, s.reason) for s in _plan(contract("800A"),
                                                     existing=(closed,)).skipped] == [
        ("800A", SkipReason.ALREADY_RENEWED_BY_PERSON)]


def test_an_adopted_renewal_past_its_start_stays_planned_and_overdue() -> None:
    linked = ExistingRenewal(opportunity_id="006A", contract_ids=("800A",),
                             created_by_sfrenew=False, stage="Prospecting", adopted=True)
    ended = contract("800A", end=TODAY - timedelta(days=3))
    (renewal,) = _plan(ended, existing=(linked,)).renewals
    assert renewal.adopted
    assert renewal.days_overdue == 3


def test_no_candidate_in_the_window_a_renewal_is_created() -> None:
    far = _plan(contract(), existing=(_hand_made("006C", 46),
                                      _hand_made("006D", 0, renewal_type=False)))
    assert len(far.renewals) == 1
    assert far.adopted == ()
    wider = _plan(contract(), existing=(_hand_made("006C", 46),),
                  policy=replace(POLICY, adoption=AdoptionPolicy(close_date_window_days=46)))
    assert [r.existing_opportunity_id for r in wider.renewals] == ["006C"]
    assert wider.adopted[0].opportunity_id == "006C"


def test_every_line_removed_by_people_leaves_an_empty_renewal_saying_so() -> None:
    (whole,) = _plan(_two_lines()).renewals
    plan = plan_account(account=ACCOUNT, contracts=(_two_lines(),), today=TODAY,
                        policy=POLICY, deleted_keys=frozenset(ln.key for ln in whole.lines))
    (renewal,) = plan.renewals
    assert renewal.lines == ()
    assert renewal.amount == renewal.figures.prior_arr == 0
    assert renewal.explanation.count("removed from this renewal by a person") == 2


def test_a_contract_sfrenew_already_renews_keeps_its_renewal_and_adopts_nothing() -> None:
    (first,) = _plan(contract()).renewals
    ours = existing("006OURS", "800A", by_sfrenew=True, stage="Prospecting", key=first.key)
    plan = _plan(contract(), existing=(ours, _hand_made("006A", 10)))
    assert [r.existing_opportunity_id for r in plan.renewals] == ["006OURS"]
    assert plan.adopted == ()


def test_an_open_renewal_beyond_the_horizon_is_still_planned_with_its_group() -> None:
    # A backfill renewed 800B and 800C (ending 2024-10-05 and 2024-10-30, 25 days apart)
    # on one opportunity. The nightly horizon (180 days from 2024-03-01: 2024-08-28)
    # reaches neither, but reaches 800A (ending 2024-08-20, 46 days before 800B).
    b, c = contract("800B", end=date(2024, 10, 5)), contract("800C", end=date(2024, 10, 30))
    backfill = plan_account(account=ACCOUNT, contracts=(b, c), today=TODAY,
                            policy=replace(POLICY, eligibility=replace(
                                POLICY.eligibility, horizon_days=400)))
    (made,) = backfill.renewals
    ours = existing("006OURS", "800B", "800C", by_sfrenew=True, stage="Prospecting",
                    key=made.key)
    a = contract("800A", end=date(2024, 8, 20))
    nightly = _plan(a, b, c, existing=(ours,))
    assert nightly.skipped == ()
    # The renewal is kept whole: the same key, contracts, dates, lines and tasks. 800A
    # renews on its own (joined, it would pull 800B away from 800C: 800C starts 71 days
    # after 800A, beyond the 60-day window).
    new, kept = nightly.renewals
    assert new.contract_ids == ("800A",)
    assert new.existing_opportunity_id is None
    assert kept == made._replace(existing_opportunity_id="006OURS")
    # Without the renewal, the nightly would not plan 800B and 800C at all.
    assert [(s.contract_id, s.reason) for s in _plan(a, b, c).skipped] == [
        ("800B", SkipReason.BEYOND_HORIZON), ("800C", SkipReason.BEYOND_HORIZON)]


def test_an_unsigned_renewal_past_its_start_is_lapsed_and_escalated() -> None:
    # 800A ended 2024-02-20 (10 days before TODAY, 2024-03-01); sfrenew's renewal is open.
    made = plan_account(account=ACCOUNT, contracts=(contract("800A", end=date(2024, 2, 20)),),
                        today=date(2024, 2, 1), policy=POLICY).renewals[0]
    assert made.days_overdue == 0
    assert not made.is_overdue
    ours = existing("006OURS", "800A", by_sfrenew=True, stage="Prospecting", key=made.key)
    plan = _plan(contract("800A", end=date(2024, 2, 20)), existing=(ours,))
    (lapsed,) = plan.renewals
    assert plan.skipped == ()
    # 2024-03-01 − 2024-02-20 = 10 days; grace ends 2024-02-20 + 14 = 2024-03-05.
    assert (lapsed.key, lapsed.days_overdue, lapsed.is_overdue) == (made.key, 10, True)
    escalation = {t.step: t for t in lapsed.tasks}["overdue_escalation"]
    assert (escalation.due_date, escalation.priority.value) == (date(2024, 3, 5), "High")
    assert lapsed.explanation.startswith("OVERDUE: the contract ended on 2024-02-20")
    # Without sfrenew's renewal an ended contract gets none (a new one is not created).
    assert [s.reason for s in _plan(contract("800A", end=date(2024, 2, 20))).skipped] == [
        SkipReason.ALREADY_ENDED]
    # No escalation configured: still lapsed, no task.
    quiet = _plan(contract("800A", end=date(2024, 2, 20)), existing=(ours,),
                  policy=replace(POLICY, lapse=LapsePolicy(escalation=None)))
    assert quiet.renewals[0].days_overdue == 10
    assert "overdue_escalation" not in {t.step for t in quiet.renewals[0].tasks}


def test_two_groups_never_continue_one_opportunity() -> None:
    # One open renewal names 800A and 800B, which the rules no longer group (a 19-day
    # window and 20 days between their starts): one continues it, the other is new.
    ours = existing("006OURS", "800A", "800B", by_sfrenew=True, stage="Prospecting",
                    key="k-ours")
    plan = _plan(contract("800A"), contract("800B", end=date(2024, 4, 20)), existing=(ours,),
                 policy=replace(POLICY, coterm=CotermPolicy(window_days=19)))
    assert [(r.contract_ids, r.existing_opportunity_id) for r in plan.renewals] == [
        (("800A",), "006OURS"), (("800B",), None)]


def test_a_group_with_an_open_renewals_key_continues_it_before_any_shared_contract() -> None:
    # The open renewal holds 800A and 800B but carries the key of 800B's renewal alone.
    # Under a 19-day window the rules group them apart, 800A first: 800A must not take
    # the opportunity by the shared contract, or 800B's new renewal would reuse its key.
    b = contract("800B", end=date(2024, 4, 20))
    key_b = renewal_key(ACCOUNT.id, contract_ids=["800B"], start=date(2024, 4, 21))
    ours = existing("006OURS", "800A", "800B", by_sfrenew=True, stage="Prospecting",
                    key=key_b)
    plan = _plan(contract("800A"), b, existing=(ours,),
                 policy=replace(POLICY, coterm=CotermPolicy(window_days=19)))
    assert [(r.contract_ids, r.existing_opportunity_id, r.key == key_b)
            for r in plan.renewals] == [(("800A",), None, False), (("800B",), "006OURS", True)]


@pytest.mark.parametrize(("method", "says"), [
    (PricingMethod.LIST, True),   # priced at the list price: the line says where it is from
    (PricingMethod.SAME, False),  # the list price is not used: nothing to say
])
def test_a_list_priced_line_says_where_its_list_price_came_from(
        method: PricingMethod, says: bool) -> None:
    note = "1,300.00 USD a year from the contract's Renewal Price Book 01s2 (entry 01u3)"
    made = contract("800P", lines=(replace(line(1, price="1000", qty="10", list_price="1300"),
                                           list_price_note=note),))
    account = replace(ACCOUNT, renewal_pricing=method)
    (renewal,) = plan_account(account=account, contracts=[made], today=TODAY,
                              policy=POLICY).renewals
    (planned,) = renewal.lines
    # List: 10 × 1,300.00 = 13,000.00 for the 12-month term; Same: 10 × 1,000.00
    assert renewal.amount == P("13000.00" if says else "10000.00")
    assert (f"List price: {note}." in planned.explanation) is says
