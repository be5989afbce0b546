"""When an account is planned again: each date-driven rule's next change, and the
planner's calendar (an account kept until ``replan_on`` plans as a full re-plan)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import bench.plan_fingerprint as harness
from bench.bench_plan import TODAY as BENCH_TODAY
from bench.plan_fingerprint import calendar, generate, variants
from sfrenew.core.domain import ExistingTask, RiskLevel, RiskSignals
from sfrenew.core.keys import task_key
from sfrenew.core.planner import plan_account
from sfrenew.core.policy import (
    CadencePolicy,
    CadenceStep,
    EligibilityPolicy,
    LapsePolicy,
    PastDuePolicy,
    RiskPolicy,
    RulesPolicy,
    SignalName,
    SignalPolicy,
)
from sfrenew.core.replan import replan_on
from sfrenew.core.rules.cadence import cadence_changes_on, plan_cadence
from sfrenew.core.rules.lapse import escalation_task, lapse_changes_on, lapse_of
from sfrenew.core.rules.risk import RiskContext, assess_risk, risk_changes_on
from sfrenew.core.rules.term import eligibility, eligibility_changes_on
from tests.unit.core.builders import ACCOUNT, contract, existing

D = date
DAY = timedelta(days=1)
HORIZON = EligibilityPolicy(horizon_days=180)


# --- eligibility -----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("end", "today", "changes_on"),
    [
        # the worked example of eligibility_changes_on: beyond, eligible, ended
        (D(2026, 12, 31), D(2026, 6, 1), D(2026, 7, 4)),
        (D(2026, 12, 31), D(2026, 7, 4), D(2027, 1, 1)),
        (D(2026, 12, 31), D(2026, 12, 31), D(2027, 1, 1)),
        (D(2026, 12, 31), D(2027, 1, 1), None),
        (D(2026, 12, 31), D(2026, 7, 3), D(2026, 7, 4)),
    ],
)
def test_eligibility_changes_at_the_horizon_and_after_the_end(
        end: date, today: date, changes_on: date | None) -> None:
    assert eligibility_changes_on(contract(end=end), today=today, policy=HORIZON) == changes_on


@pytest.mark.parametrize("extra", [{"status": "Draft"}, {"do_not_renew": True},
                                   {"evergreen": True}, {"end": None}])
def test_eligibility_that_the_date_does_not_decide_never_changes(extra: dict[str, object]) -> None:
    c = contract(**extra)  # type: ignore[arg-type]
    assert eligibility_changes_on(c, today=D(2024, 1, 1), policy=HORIZON) is None


def test_a_contract_sfrenew_renews_stays_eligible_whatever_the_date() -> None:
    mine = (existing("006A", "800A", by_sfrenew=True, stage="Prospecting"),)
    assert eligibility_changes_on(contract(end=D(2024, 3, 31)), today=D(2020, 1, 1),
                                  policy=HORIZON, renewals=mine) is None


@given(end=st.integers(-400, 400), today=st.integers(-400, 400),
       horizon=st.integers(-30, 400))
def test_eligibility_is_constant_until_its_change_and_changes_then(
        end: int, today: int, horizon: int) -> None:
    origin = D(2028, 2, 29)
    c = contract(end=origin + timedelta(days=end))
    policy = EligibilityPolicy(horizon_days=horizon)
    day = origin + timedelta(days=today)
    now = eligibility(c, today=day, policy=policy)
    changes = eligibility_changes_on(c, today=day, policy=policy)
    until = changes if changes is not None else day + timedelta(days=900)
    assert changes is None or changes > day
    for n in range((until - day).days):
        assert eligibility(c, today=day + timedelta(days=n), policy=policy) == now
    if changes is not None:  # a real change, not a guess
        assert eligibility(c, today=changes, policy=policy) != now


# --- cadence ---------------------------------------------------------------------------

STEPS = (CadenceStep("kickoff", 90, "Kickoff {account}"),
         CadenceStep("quote", 60, "Quote {account}"),
         CadenceStep("exec", 30, "Exec {account}", high_risk_only=True))


@pytest.mark.parametrize(
    ("past_due", "today", "changes_on"),
    [
        # the worked example of cadence_changes_on (renewal starts 2026-06-01)
        (PastDuePolicy.DUE_TODAY, D(2026, 3, 10), D(2026, 3, 11)),
        (PastDuePolicy.SKIP, D(2026, 3, 10), D(2026, 4, 3)),
        (PastDuePolicy.SKIP, D(2026, 1, 1), D(2026, 3, 4)),
        (PastDuePolicy.SKIP, D(2026, 5, 3), None),
    ],
)
def test_cadence_changes_when_a_step_falls_past_due(
        past_due: PastDuePolicy, today: date, changes_on: date | None) -> None:
    assert cadence_changes_on(renewal_key="R1", renewal_start=D(2026, 6, 1), today=today,
                              risk=RiskLevel.LOW, policy=CadencePolicy(STEPS, past_due),
                              existing={}) == changes_on


def test_a_high_only_step_moves_the_plan_only_at_high_risk() -> None:
    # the exec step is scheduled 2026-05-02 (30 days before): past due on 2026-05-03
    for risk, changes_on in ((RiskLevel.HIGH, D(2026, 5, 3)), (RiskLevel.MEDIUM, None)):
        assert cadence_changes_on(renewal_key="R1", renewal_start=D(2026, 6, 1),
                                  today=D(2026, 5, 1), risk=risk,
                                  policy=CadencePolicy(STEPS, PastDuePolicy.SKIP),
                                  existing={}) == changes_on


def test_written_tasks_keep_their_dates_so_nothing_changes_after_the_last_step() -> None:
    written = {task_key("R1", s.name): ExistingTask(task_key("R1", s.name), D(2026, 3, 3), False)
               for s in STEPS}
    assert cadence_changes_on(renewal_key="R1", renewal_start=D(2026, 6, 1),
                              today=D(2026, 5, 10), risk=RiskLevel.HIGH,
                              policy=CadencePolicy(STEPS), existing=written) is None


@given(start=st.integers(-200, 200), today=st.integers(-200, 200),
       past_due=st.sampled_from(PastDuePolicy), risk=st.sampled_from(RiskLevel),
       written=st.sets(st.sampled_from([s.name for s in STEPS])), closed=st.booleans())
def test_cadence_is_constant_until_its_change(start: int, today: int, past_due: PastDuePolicy,
                                              risk: RiskLevel, written: set[str],
                                              closed: bool) -> None:
    origin = D(2026, 3, 10)
    renewal_start = origin + timedelta(days=start)
    tasks = {task_key("R1", n): ExistingTask(task_key("R1", n), origin, closed)
             for n in written}
    policy = CadencePolicy(STEPS, past_due)
    day = origin + timedelta(days=today)

    def planned(on: date) -> object:
        return plan_cadence(renewal_key="R1", renewal_start=renewal_start, today=on,
                            risk=risk, values={"account": "Acme"}, policy=policy,
                            existing=tasks)

    now = planned(day)
    changes = cadence_changes_on(renewal_key="R1", renewal_start=renewal_start, today=day,
                                 risk=risk, policy=policy, existing=tasks)
    until = changes if changes is not None else day + timedelta(days=400)
    assert changes is None or changes > day
    for n in range(0, (until - day).days, 3):
        assert planned(day + timedelta(days=n)) == now
    assert planned(until - DAY) == now


# --- lapse -----------------------------------------------------------------------------

@given(start=st.integers(-60, 60), today=st.integers(-60, 60))
def test_lapse_is_constant_until_its_change(start: int, today: int) -> None:
    origin = D(2026, 3, 10)
    renewal_start = origin + timedelta(days=start)
    day = origin + timedelta(days=today)
    policy = LapsePolicy(grace_days=14)

    def lapsed(on: date) -> object:
        found = lapse_of(renewal_start, today=on, policy=policy)
        task = found and escalation_task(renewal_key="R1", lapse=found, today=on,
                                         values={"account": "Acme"}, policy=policy,
                                         existing={})
        return found, task

    changes = lapse_changes_on(renewal_start, today=day)
    assert changes is not None
    assert changes > day
    for n in range((changes - day).days):
        assert lapsed(day + timedelta(days=n)) == lapsed(day)
    assert lapsed(changes) != lapsed(day)


# --- risk ------------------------------------------------------------------------------

QUIET = RiskPolicy(signals=(SignalPolicy(SignalName.NO_RECENT_ACTIVITY, 40, Decimal("60.5")),
                            SignalPolicy(SignalName.PAYMENT_OVERDUE, 60, Decimal(30))))


@pytest.mark.parametrize(
    ("last", "today", "changes_on"),
    [
        # 60.5 days: fires on the 61st day after the last activity, then counts each day
        (D(2026, 1, 1), D(2026, 2, 1), D(2026, 3, 3)),
        (D(2026, 1, 1), D(2026, 3, 3), D(2026, 3, 4)),
        (None, D(2026, 3, 3), None),
    ],
)
def test_no_recent_activity_changes_when_it_fires_then_daily(
        last: date | None, today: date, changes_on: date | None) -> None:
    signals = RiskSignals(last_completed_activity=last, payment_days_overdue=45)
    assert risk_changes_on(signals, today, QUIET) == changes_on


@given(last=st.none() | st.integers(-200, 200), today=st.integers(-200, 200),
       threshold=st.decimals(min_value=0, max_value=120, places=1),
       overdue=st.none() | st.integers(0, 90))
def test_risk_is_constant_until_its_change(last: int | None, today: int, threshold: Decimal,
                                           overdue: int | None) -> None:
    origin = D(2026, 3, 10)
    policy = RiskPolicy(signals=(
        SignalPolicy(SignalName.NO_RECENT_ACTIVITY, 40, threshold),
        SignalPolicy(SignalName.PAYMENT_OVERDUE, 60, Decimal(30))))
    signals = RiskSignals(
        last_completed_activity=None if last is None else origin + timedelta(days=last),
        payment_days_overdue=overdue)
    day = origin + timedelta(days=today)

    def risk(on: date) -> object:
        return assess_risk(RiskContext(signals, on, Decimal("0.05"), None), policy)

    changes = risk_changes_on(signals, day, policy)
    until = changes if changes is not None else day + timedelta(days=400)
    for n in range((until - day).days):
        assert risk(day + timedelta(days=n)) == risk(day)
    if changes is not None:
        assert risk(changes) != risk(day)


# --- the planner -----------------------------------------------------------------------

def test_an_account_plans_alike_until_replan_on() -> None:
    c1 = contract("800A", end=D(2024, 9, 30))
    c2 = contract("800B", end=D(2024, 3, 31))
    signals = RiskSignals(last_completed_activity=D(2024, 1, 20))
    policy = variants()["default"]
    today = D(2024, 3, 1)
    plan = plan_account(account=ACCOUNT, contracts=(c1, c2), today=today, policy=policy,
                        signals=signals)
    due = replan_on(plan=plan, contracts=(c1, c2), today=today, policy=policy,
                    signals=signals)
    assert due is not None
    assert due > today
    for n in range((due - today).days):
        assert plan_account(account=ACCOUNT, contracts=(c1, c2), today=today + n * DAY,
                            policy=policy, signals=signals) == plan
    assert plan_account(account=ACCOUNT, contracts=(c1, c2), today=due, policy=policy,
                        signals=signals) != plan


def test_a_plan_with_nothing_dated_is_never_planned_again_by_date() -> None:
    ended = contract("800A", end=D(2023, 1, 31))  # ended long ago, no renewal
    policy = variants()["default"]
    plan = plan_account(account=ACCOUNT, contracts=(ended,), today=D(2024, 3, 1),
                        policy=policy)
    assert replan_on(plan=plan, contracts=(ended,), today=D(2024, 3, 1),
                     policy=policy) is None


@pytest.mark.parametrize("name", ["default", "past-due-skip", "min-term-1-evergreen",
                                  "any-term-400-change"])
def test_ninety_daily_runs_plan_as_full_re_plans(name: str) -> None:
    """The calendar harness of bench/plan_fingerprint.py on a small book: every day, each
    account kept since its last plan equals a full re-plan of that day."""
    rules = variants()[name]
    book = generate(24, 5, 200)
    found = calendar(book, rules, days=90, name=name, start=BENCH_TODAY)
    assert found.differences == []
    assert found.accounts == len(book)
    # kept plans are the point: fewer plans than one a day per account
    assert found.planned < found.accounts * 90


def test_the_calendar_harness_catches_a_wrong_replan_day(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The harness fails when an account is kept past a change: here replan_on is told a
    policy whose ``no_recent_activity`` fires 300 years late while the plans use the
    real one."""
    rules = variants()["default"]
    quiet = replace(rules, risk=replace(rules.risk, signals=tuple(
        replace(s, threshold=Decimal(100_000)) if s.name is SignalName.NO_RECENT_ACTIVITY
        else s for s in rules.risk.signals)))

    def forgetful(**kw: Any) -> date | None:
        return replan_on(**{**kw, "policy": quiet})

    monkeypatch.setattr(harness, "replan_on", forgetful)
    # ends in 170 days (no cadence step past due for 52 days); quiet for 50 days: the
    # signal fires on the 10th day
    book = [(ACCOUNT, [contract(end=BENCH_TODAY + 170 * DAY)],
             RiskSignals(last_completed_activity=BENCH_TODAY - 50 * DAY))]
    found = calendar(book, rules, days=90, start=BENCH_TODAY)
    assert found.differences == [
        f" account {ACCOUNT.id} on {BENCH_TODAY + 10 * DAY}: kept the plan of an earlier "
        f"day, which differs"]


def test_the_worked_example_of_docs_rules() -> None:
    """docs/rules.md §12: Acme on 2026-03-10, then the day after with its tasks written."""
    policy = RulesPolicy()  # the default rules the example names
    a, b = contract("800A", end=D(2026, 6, 30)), contract("800B", end=D(2026, 12, 31))
    signals = RiskSignals(last_completed_activity=D(2026, 2, 1))
    first = plan_account(account=ACCOUNT, contracts=(a, b), today=D(2026, 3, 10),
                         policy=policy, signals=signals)
    assert replan_on(plan=first, contracts=(a, b), today=D(2026, 3, 10), policy=policy,
                     signals=signals) == D(2026, 3, 11)  # the kickoff task is due today
    written = {t.key: ExistingTask(t.key, t.due_date, False) for t in first.renewals[0].tasks}
    second = plan_account(account=ACCOUNT, contracts=(a, b), today=D(2026, 3, 11),
                          policy=policy, signals=signals, existing_tasks=written)
    assert replan_on(plan=second, contracts=(a, b), today=D(2026, 3, 11), policy=policy,
                     signals=signals, existing_tasks=written) == D(2026, 4, 2)
    assert eligibility_changes_on(b, today=D(2026, 3, 10),
                                  policy=policy.eligibility) == D(2026, 7, 4)
