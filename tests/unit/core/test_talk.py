"""The rep's talk track, next step and task descriptions: plain numbers, short text."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sfrenew.core.domain import Contract, RiskSignals
from sfrenew.core.figures import last_term_total
from sfrenew.core.formula import parse
from sfrenew.core.money import format_money
from sfrenew.core.planner import plan_account
from sfrenew.core.policy import (
    AnchorPolicy,
    ContractualUplift,
    CotermPolicy,
    PricingMethod,
    RiskAdjustment,
    RulesPolicy,
    UpliftPolicy,
    UpliftRule,
)
from sfrenew.core.rules.cadence import PlannedTask
from sfrenew.core.talk import (
    NEXT_STEP_MAX,
    TALK_MAX,
    next_step_words,
    overall_rate,
    task_descriptions,
)
from tests.unit.core.builders import ACCOUNT, TODAY, contract, contracts, line

P = Decimal
NO_INDEX = UpliftPolicy(default_rate=P("0.05"))
POLICY = RulesPolicy(uplift=NO_INDEX)


def _talk(*made: Contract, policy: RulesPolicy = POLICY,
          signals: RiskSignals | None = None) -> str:
    (renewal,) = plan_account(account=ACCOUNT, contracts=made, today=TODAY, policy=policy,
                              signals=signals).renewals
    assert len(renewal.explanation) <= TALK_MAX
    return renewal.explanation


# One 12-month contract 2023-04-01 → 2024-03-31, 10 units at 1,000.00 a year (builders).
@pytest.mark.parametrize(("made", "policy", "signals", "says"), [
    # Contractual 7%: last term 10 × 1,000.00 = 10,000.00; renewal 10 × 1,070.00 =
    # 10,700.00 for 12 months; uplift 700.00 = 7% of 10,000.00.
    ((contract(uplift_rate=P("0.07")),), POLICY, None, [
        "Acme Corp renewal: 2024-04-01 to 2025-03-31 (12 months), contract 0000800A.",
        "Last term: 10,000.00 USD total (2023-04-01 to 2024-03-31), 10,000.00 USD a year.",
        "This renewal: 10,700.00 USD total, 10,700.00 USD a year in its first year.",
        "Uplift: +7% (+700.00 USD a year): 7% from the contract's renewal uplift clause."]),
    # The default 5%: 10,500.00; +500.00.
    ((contract(),), POLICY, None, [
        "Uplift: +5% (+500.00 USD a year): 5% from the standard renewal uplift."]),
    # An EMEA rule at 6% (the account is EMEA): 10,600.00; +600.00.
    ((contract(),), replace(POLICY, uplift=replace(NO_INDEX, rules=(
        UpliftRule("EMEA", P("0.06"), region="EMEA"),))), None, [
        "This renewal: 10,600.00 USD total",
        'Uplift: +6% (+600.00 USD a year): 6% from the "EMEA" pricing rule.']),
    # A contractual 9% capped by the contract at 4%: 10,400.00; +400.00.
    ((contract(uplift_rate=P("0.09"), uplift_cap=P("0.04")),), POLICY, None, [
        "Uplift: +4% (+400.00 USD a year): 9% from the contract's renewal uplift clause, "
        "capped at 4% by the contract's cap."]),
    # Same pricing: no change, 10,000.00.
    ((contract(),), replace(POLICY, uplift=replace(NO_INDEX, pricing=PricingMethod.SAME)),
     None, ["This renewal: 10,000.00 USD total",
            "Uplift: +0% (+0.00 USD a year): prices kept as they were."]),
    # High risk takes the default 5% to 0 (risk adjustment max 0): 10,000.00.
    ((contract(),), replace(POLICY, uplift=replace(NO_INDEX, risk_adjustments={
        "High": RiskAdjustment(max_rate=P(0))})),  # type: ignore[dict-item]
     RiskSignals(health_score=P(10), champion_gone=True, payment_days_overdue=120,
                 open_high_severity_cases=3), [
        "Uplift: +0% (+0.00 USD a year): 5% from the standard renewal uplift, 0% for High "
        "risk", "Risk High: "]),
    # A 36-month contract 2021-04-01 → 2024-03-31 renewed for 36 months: last term
    # 10 × 1,000.00 × 36/12 = 30,000.00 total, 10 × 1,000.00 = 10,000.00 a year.
    ((replace(contract(term_months=36), start_date=date(2021, 4, 1)),), POLICY, None, [
        "Acme Corp renewal: 2024-04-01 to 2027-03-31 (36 months)",
        "Last term: 30,000.00 USD total (2021-04-01 to 2024-03-31), 10,000.00 USD a year."]),
])
def test_the_talk_track_says(made: tuple[Contract, ...], policy: RulesPolicy,
                             signals: RiskSignals | None, says: list[str]) -> None:
    text = _talk(*made, policy=policy, signals=signals)
    for words in says:
        assert words in text, text
    assert "index formula" not in text
    assert "month_day" not in text
    assert "gap" not in text
    assert "overlap" not in text
    assert text.endswith("the Renewal Derivation field or sfrenew plan.")


def test_a_co_term_stub_and_a_change_of_term_are_said_plainly() -> None:
    # 800B ends 20 days after 800A: co-termed to 800A's renewal end, 11 months and 11 days.
    stub = _talk(contract("800A"), contract("800B", end=date(2024, 4, 20)))
    assert ("Co-term: contract 0000800B renews for 11 months and 11 days instead of 12 "
            "months, to end with the others") in stub
    # A calendar anchor moving a 12-month term to end 2024-12-31 is a change of term.
    calendar = replace(POLICY, coterm=CotermPolicy(anchor=AnchorPolicy.CALENDAR,
                                                    calendar_month=12, calendar_day=31))
    text = _talk(contract("800A"), policy=calendar)
    assert "Change of term: the 12-month term of contract 0000800A is shortened" in text
    assert "Needs approval before it goes to the customer." in text  # said once: the term


def test_a_contractual_uplift_changed_by_policy_needs_approval_and_says_why() -> None:
    # The index formula (rate − 0.01) also changes contractual rates: 7% → 6%, approval.
    policy = replace(POLICY, uplift=replace(
        NO_INDEX, index_formula=parse("rate - 0.01"),
        contractual=ContractualUplift(index=True)))
    text = _talk(contract(uplift_rate=P("0.07")), policy=policy)
    # 10 × 1,000.00 × 1.06 = 10,600.00; +600.00 = +6%.
    assert "Uplift: +6% (+600.00 USD a year): 7% from the contract's renewal uplift " \
        "clause, 6% by the price index." in text
    assert ("Needs approval before it goes to the customer: the uplift policy changed the "
            "contractual 7% of contract 0000800A to 6% on 1 line.") in text


def test_last_term_total_rounds_once_at_the_total() -> None:
    (renewal,) = plan_account(account=ACCOUNT, contracts=[contract(lines=(
        line(1, price="333.33", qty="3"),))], today=TODAY, policy=POLICY).renewals
    # 3 × 333.33 × 12/12 = 999.99
    assert last_term_total(renewal.lines, {"800A": (date(2023, 4, 1), date(2024, 3, 31))},
                           quantum=P("0.01")) == P("999.99")
    assert last_term_total(renewal.lines, {}, quantum=P("0.01")) is None


@pytest.mark.parametrize(("prior", "renewal", "rate"), [
    ("10000.00", "10700.00", "0.07"),
    ("32000.00", "33800.00", "0.0563"),  # 1,800/32,000 = 0.05625, rounded half-up
    ("0", "100", None), ("100.00", "90.00", "-0.1")])
def test_overall_rate(prior: str, renewal: str, rate: str | None) -> None:
    assert overall_rate(P(prior), P(renewal)) == (None if rate is None else P(rate))


def test_next_step_is_the_earliest_open_task_and_fits_next_step() -> None:
    assert next_step_words(()) is None
    late = PlannedTask("k1", "quote", "Send quote", date(2024, 5, 1), "Normal",  # type: ignore[arg-type]
                       "renewal_owner", date(2024, 5, 1))
    soon = late._replace(key="k2", step="kickoff", subject="X" * 400,
                         due_date=date(2024, 3, 1), assignee_role="renewal_manager")
    words = next_step_words((late, soon))
    assert words is not None
    assert words.startswith("2024-03-01 XXX")
    assert len(words) == NEXT_STEP_MAX


def test_task_descriptions_say_what_to_do_and_link_the_renewal() -> None:
    (renewal,) = plan_account(account=ACCOUNT, contracts=[contract(uplift_rate=P("0.07"))],
                              today=TODAY, policy=POLICY).renewals
    texts = task_descriptions(renewal, POLICY.cadence)
    assert set(texts) == {t.key for t in renewal.tasks}
    kickoff = next(t for t in renewal.tasks if t.step == "kickoff")
    assert texts[kickoff.key] == (
        "What to do: confirm the decision maker, usage and any change in scope with the "
        "customer\n"
        "Renewal: Acme Corp renewal 2024-04-01 (the task's Related To)\n"
        "Amount: 10,700.00 USD for 2024-04-01 to 2025-03-31 (12 months).\n"
        "Annual value: 10,000.00 USD last term → 10,700.00 USD (+700.00 USD, +7%).\n"
        "Risk: Low (large_uplift).\n"
        "Step \"kickoff\", 120 days before the renewal starts; for the renewal owner.")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=12,
                unique=True).flatmap(
    lambda ns: st.tuples(*(contracts(n) for n in ns))))
def test_the_talk_track_always_fits(made: tuple[Contract, ...]) -> None:
    plan = plan_account(account=ACCOUNT, contracts=made, today=TODAY, policy=RulesPolicy(),
                        signals=RiskSignals(champion_gone=True))
    for renewal in plan.renewals:
        assert len(renewal.explanation) <= TALK_MAX
        assert renewal.explanation.startswith(f"{ACCOUNT.name} renewal: ")
        assert "\nLast term: " in renewal.explanation
        assert (f"\nThis renewal: {format_money(renewal.amount, renewal.currency)} total"
                in renewal.explanation)
        assert "Other policies, for comparison" in renewal.derivation  # the admins' text
        assert "Other policies" not in renewal.explanation


def test_many_co_term_stubs_are_summed_up_in_one_line() -> None:
    made = [contract("800A"), *(contract(f"800{c}", end=date(2024, 4, d))
                                for c, d in (("B", 10), ("C", 20), ("D", 25)))]
    text = _talk(*made)
    # 800B, 800C and 800D end 10-25 days after 800A: three stubs, one line.
    assert ("Co-term: 3 contracts renew for less or more than their term to end with the "
            "others on 2025-03-31") in text
    assert "Co-term: contract" not in text
