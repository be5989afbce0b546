"""The planner: one account's contracts in, the desired renewal state out.

:func:`plan_account` is the core's entry point for a run. It is pure: records,
signals, ``today`` and the policy come in; a :class:`RenewalPlan` comes out, and
the same input always gives an equal plan, keys included.

Steps: check each contract (eligible? usable data?) and report every one left out
with a reason; find each contract's natural renewal and its lines' uplift; group
the renewals (co-terming); then per group assess risk, adjust the uplift for it,
price and prorate every line to the group's end, compare the anchor policies,
plan the cadence tasks, the forecast category and write the explanation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from operator import attrgetter

from sfrenew.core.decisions import UpliftTable, table_for
from sfrenew.core.domain import (
    Account,
    Contract,
    ContractLine,
    ExistingRenewal,
    ExistingTask,
    PricingMethod,
    RiskSignals,
)
from sfrenew.core.explain import (
    LINE_MAX,
    RenewalParts,
    explain_parts,
    explain_priced_line,
    proration_words,
    term_change_words,
    truncate,
)
from sfrenew.core.figures import renewal_figures
from sfrenew.core.keys import adopted_renewal_key, line_key, renewal_key
from sfrenew.core.money import format_money, format_rate, quantum_for
from sfrenew.core.plan import (
    LeftAloneRenewal,
    PlannedLine,
    PlannedRenewal,
    RenewalPlan,
    SkippedContract,
    SkipReason,
)
from sfrenew.core.policy import RulesPolicy
from sfrenew.core.pricing import GroupPricer, LineToPrice, PricedLine
from sfrenew.core.rules.adoption import Adoption, adopt
from sfrenew.core.rules.cadence import plan_cadence, render
from sfrenew.core.rules.coterm import (
    CotermGroup,
    CotermMember,
    anchor_ends,
    compare_anchors,
    group_keeping,
    group_members,
    term_changes,
)
from sfrenew.core.rules.forecast import forecast_category
from sfrenew.core.rules.lapse import escalation_task, lapse_of, lapse_words
from sfrenew.core.rules.lines import LineNote, LineNoteKind, renewable_lines
from sfrenew.core.rules.proration import Proration
from sfrenew.core.rules.risk import RiskAssessment, RiskContext, assess_risk
from sfrenew.core.rules.term import (
    ONE_DAY,
    eligibility,
    iso,
    natural_renewal,
    renewal_term_months,
)
from sfrenew.core.rules.uplift import UpliftDecision, compounds, with_risk
from sfrenew.core.talk import talk_track

_BY_ID = attrgetter("id")
_BY_OPPORTUNITY_ID = attrgetter("opportunity_id")
_BY_DUE_DATE_AND_STEP = attrgetter("due_date", "step")
OPPORTUNITY_NAME_MAX = 120  # Opportunity.Name length in Salesforce
_NO_TASKS: Mapping[str, ExistingTask] = {}
_NO_KEYS: frozenset[str] = frozenset()
_ZERO = Decimal(0)


@dataclass(slots=True)  # a working value of one planning call, never returned
class _Candidate:
    contract: Contract
    member: CotermMember
    uplifts: tuple[UpliftDecision, ...]  # per line, before risk
    notes: tuple[LineNote, ...]  # amendments netted, lines left out (renewable_lines)


def plan_account(
    *,
    account: Account,
    contracts: Sequence[Contract],
    today: date,
    policy: RulesPolicy,
    signals: RiskSignals | None = None,
    existing_renewals: Sequence[ExistingRenewal] = (),
    existing_tasks: Mapping[str, ExistingTask] = _NO_TASKS,
    deleted_keys: frozenset[str] = _NO_KEYS,
) -> RenewalPlan:
    """The desired renewal state of ``account``.

    ``contracts`` are the account's contracts with their lines (any status; the
    planner decides which renew). ``existing_renewals`` are the renewal
    opportunities the org holds for them (sfrenew's and people's, including open
    Renewal-type ones naming no contract, which a contract may adopt: see
    ``rules.adoption``); ``existing_tasks`` the cadence tasks sfrenew created earlier,
    by key. ``deleted_keys`` are keys of records sfrenew created that a person deleted
    since: such a renewal is not planned again (its contracts are reported), and such a
    line is left out of its renewal and named in the explanation.
    """
    renewals_of: dict[str, list[ExistingRenewal]] = {}
    adoptable: list[ExistingRenewal] = []
    for renewal in existing_renewals:
        for contract_id in renewal.contract_ids:
            renewals_of.setdefault(contract_id, []).append(renewal)
        if renewal.adoptable:
            adoptable.append(renewal)
    adopted: list[Adoption] = []
    # contract Id -> the person's opportunity it renews on, adopted now or earlier
    adopted_to: dict[str, ExistingRenewal] = {}
    by_opp = {r.opportunity_id: r for r in existing_renewals}
    skipped: list[SkippedContract] = []
    candidates: list[_Candidate] = []
    memo: _DecisionMemo = {}
    table = table_for(policy.uplift)
    for mapped in sorted(contracts, key=_BY_ID):
        renewals = tuple(renewals_of.get(mapped.id, ()))
        problem = _check(mapped, today=today, policy=policy, renewals=renewals)
        notes: tuple[LineNote, ...] = ()
        contract = mapped
        if problem is None:
            lines, notes = renewable_lines(mapped)
            problem = _line_problem(mapped, lines, notes, policy=policy)
            if lines is not mapped.lines:  # amendments netted, ended lines left out
                contract = replace(mapped, lines=lines)
        if problem is None:
            theirs = next((r for r in sorted(renewals, key=_BY_OPPORTUNITY_ID)
                           if r.adopted and r.maintained_by_sfrenew), None)
            if theirs is not None:  # adopted on an earlier run: still sfrenew's to maintain
                adopted_to[mapped.id] = theirs
            elif adoptable and not any(r.created_by_sfrenew for r in renewals):
                # (a contract sfrenew already renews keeps its renewal: nothing is abandoned)
                adoption = adopt(mapped, adoptable, policy.adoption)
                if adoption is not None:
                    adopted.append(adoption)
                    adopted_to[mapped.id] = by_opp[adoption.opportunity_id]
        if problem is not None:
            skipped.append(SkippedContract(mapped.id, problem[0], problem[1]))
            continue
        candidates.append(_candidate(contract, account=account, policy=policy, table=table,
                                     memo=memo, notes=notes))
    by_id = {c.contract.id: c for c in candidates}
    risks: _RiskMemo = {}
    free = [c.member for c in candidates if c.contract.id not in adopted_to]
    if existing_renewals:  # a group an open renewal already holds stays together
        kept = [r.contract_ids for r in sorted(existing_renewals, key=_BY_OPPORTUNITY_ID)
                if r.created_by_sfrenew and not r.is_closed]
        groups = group_keeping(free, policy.coterm, kept)
    else:
        groups = group_members(free, policy.coterm)
    planned = []
    # Existing opportunities continued, one renewal each. A group whose key is an open
    # renewal's continues that one; no other group may take it by a shared contract.
    claimed: set[str] = set()
    if existing_renewals:
        by_key = {r.key: r.opportunity_id for r in existing_renewals
                  if r.key and r.created_by_sfrenew and not r.is_closed}
        for members in groups:
            opp = by_key.get(renewal_key(account.id, contract_ids=[m.contract_id for m in members],
                                         start=members[0].start))
            if opp is not None:
                claimed.add(opp)
    context = _GroupContext(by_id=by_id, account=account, today=today, policy=policy,
                            signals=signals or RiskSignals(), existing_tasks=existing_tasks,
                            risks=risks, deleted_keys=deleted_keys)
    for members in groups:
        key, existing = _group_key(account.id, members, existing_renewals, claimed)
        if key in deleted_keys:  # a person deleted the renewal sfrenew made: it stays so
            for m in members:
                skipped.append(SkippedContract(
                    m.contract_id, SkipReason.RENEWAL_DELETED_BY_PERSON,
                    "a person deleted the renewal opportunity sfrenew created for it; it is "
                    "not created again (to renew it, open a renewal by hand)"))
            continue
        planned.append(_plan_group(members, key=key, existing=existing, context=context))
    planned += _plan_adopted(adopted_to, candidates=candidates, context=context,
                             skipped=skipped)
    left = _left_alone(skipped, renewals_of, planned) if existing_renewals else ()
    return RenewalPlan(account.id, tuple(planned), tuple(skipped), left, tuple(adopted))


def plan_orphans(*, account_id: str, contracts: Sequence[Contract], today: date,
                 policy: RulesPolicy) -> RenewalPlan:
    """The plan of contracts whose account is gone (deleted in the org): nothing renews.

    Each contract that would renew now is reported as ``account_deleted`` with what to
    do; the others keep their usual reason (ended, beyond the horizon, ...).
    """
    skipped = []
    for contract in sorted(contracts, key=_BY_ID):
        why = eligibility(contract, today=today, policy=policy.eligibility,
                          default_term_months=policy.default_term_months)
        if why is None:
            skipped.append(SkippedContract(
                contract.id, SkipReason.ACCOUNT_DELETED,
                f"its account {account_id} was deleted in Salesforce: restore the account "
                f"(Recycle Bin) or move the contract to another account; it is not renewed "
                f"until then"))
        else:
            reason = SkipReason(why.value)
            skipped.append(SkippedContract(contract.id, reason,
                                           _skip_detail(reason, contract, policy, ())))
    return RenewalPlan(account_id, (), tuple(skipped), (), ())


def _adopted_words(opportunity_id: str) -> str:
    # The same words on every run, so a maintained renewal is not rewritten for them; how
    # it was chosen is said once, in the run that adopts it (adoption.describe).
    return (f"Adopted: opportunity {opportunity_id} is an open renewal a person made, linked "
            f"to its contract; sfrenew maintains its own notes, risk and tasks on it until "
            f"it closes, and its lines, stage, amount and dates stay the person's.")


def _adopted_lead(adoption: str | None) -> str | None:
    if adoption is None:
        return None
    return ("A person opened this renewal; sfrenew adopted it and writes only its notes, "
            "risk and tasks here. The lines, stage, amount and dates are yours: the figures "
            "below are sfrenew's proposal.")


def _group_key(account_id: str, members: Sequence[CotermMember],
               existing_renewals: Sequence[ExistingRenewal], claimed: set[str],
               ) -> tuple[str, ExistingRenewal | None]:
    """A co-term group's renewal key and the open renewal sfrenew made that it continues.

    The key is that renewal's key when there is one, else a fresh one. The renewal it
    continues is added to ``claimed``: no other group of the plan may continue it.
    """
    contract_ids = tuple(sorted(m.contract_id for m in members))  # CotermGroup.contract_ids
    fresh = renewal_key(account_id, contract_ids=contract_ids, start=members[0].start)
    existing = (_existing_renewal(fresh, contract_ids, existing_renewals, claimed)
                if existing_renewals else None)
    if existing is not None:
        claimed.add(existing.opportunity_id)
    return (existing.key if existing is not None and existing.key else fresh), existing


# Contracts that renew by themselves: an open renewal sfrenew made for one earlier is
# left as it is (not updated, not closed) and reported.
_SELF_RENEWING = frozenset({SkipReason.EVERGREEN, SkipReason.BELOW_MIN_TERM})


def _left_alone(skipped: Sequence[SkippedContract],
                renewals_of: Mapping[str, list[ExistingRenewal]],
                planned: Sequence[PlannedRenewal]) -> tuple[LeftAloneRenewal, ...]:
    """sfrenew's open renewals of month-to-month and evergreen contracts, to leave alone.

    One that a planned renewal continues (it also names a contract that renews) is
    that renewal's, not left alone.
    """
    continued = {r.existing_opportunity_id for r in planned}
    out: list[LeftAloneRenewal] = []
    seen: set[str] = set()
    for skip in skipped:
        if skip.reason not in _SELF_RENEWING:
            continue
        for r in renewals_of.get(skip.contract_id, ()):
            if (r.created_by_sfrenew and not r.is_closed and r.opportunity_id not in continued
                    and r.opportunity_id not in seen):
                seen.add(r.opportunity_id)
                out.append(LeftAloneRenewal(r.opportunity_id, r.key, skip.contract_id,
                                            skip.reason))
    return tuple(out)


def _check(contract: Contract, *, today: date, policy: RulesPolicy,
           renewals: tuple[ExistingRenewal, ...]) -> tuple[SkipReason, str] | None:
    """Why the contract gets no renewal now, in a fixed order, or None."""
    why = eligibility(contract, today=today, policy=policy.eligibility, renewals=renewals,
                      default_term_months=policy.default_term_months)
    if why is not None:
        reason = SkipReason(why.value)
        return reason, _skip_detail(reason, contract, policy, renewals)
    if (contract.start_date is not None and contract.end_date is not None
            and contract.end_date < contract.start_date):
        return SkipReason.END_BEFORE_START, (
            f"its end date {iso(contract.end_date)} is before its start date "
            f"{iso(contract.start_date)}: correct the contract's dates in Salesforce; it is "
            f"not renewed until then")
    if contract.currency not in policy.currencies:
        return SkipReason.UNKNOWN_CURRENCY, (
            f"currency {contract.currency!r} is not configured in rules.currencies")
    other = _other_currency(contract)
    if other is not None:
        return SkipReason.CURRENCY_MISMATCH, (
            f"the contract is in {contract.currency} but line {other.id} "
            f"({other.product_name}) is in {other.currency}: make the lines' currency the "
            f"contract's in Salesforce; it is not renewed until then")
    if not contract.lines:
        return SkipReason.NO_LINES, "the contract has no lines to renew"
    return None


def _other_currency(contract: Contract) -> ContractLine | None:
    """The first line whose own currency is not the contract's (empty: the contract's)."""
    for line in contract.lines:
        if line.currency and line.currency != contract.currency:
            return line
    return None


def _line_problem(contract: Contract, lines: tuple[ContractLine, ...],
                  notes: tuple[LineNote, ...], *,
                  policy: RulesPolicy) -> tuple[SkipReason, str] | None:
    """Why the contract's renewable lines (see ``renewable_lines``) cannot renew, or None."""
    if not lines:
        said = "; ".join(note.text for note in notes)
        return SkipReason.NO_LINES, f"nothing is left to renew: {said}"
    for line in lines:
        if line.annual_price is None:
            return SkipReason.LINE_WITHOUT_PRICE, (
                f"line {line.id} ({line.product_name}) has no price")
        if line.annual_price <= 0 or line.quantity <= 0:
            return SkipReason.NON_POSITIVE_AMOUNT, (
                f"line {line.id} ({line.product_name}) has quantity {line.quantity} and "
                f"price {line.annual_price}; both must be above zero")
    if renewal_term_months(contract, default_months=policy.default_term_months) <= 0:
        return SkipReason.INVALID_TERM, "the renewal term is not a positive number of months"
    return None


def _skip_detail(reason: SkipReason, contract: Contract, policy: RulesPolicy,
                 renewals: tuple[ExistingRenewal, ...]) -> str:
    if reason is SkipReason.STATUS_NOT_ELIGIBLE:
        allowed = ", ".join(sorted(policy.eligibility.statuses))
        return f"status is {contract.status!r}; only {allowed} contracts renew"
    if reason is SkipReason.ALREADY_RENEWED_BY_PERSON:
        ids = ", ".join(r.opportunity_id for r in renewals if not r.created_by_sfrenew)
        return f"already renewed by opportunity {ids}, which a person created; left alone"
    if reason is SkipReason.RENEWAL_CLOSED:
        ids = ", ".join(r.opportunity_id for r in renewals if r.is_closed)
        return f"its renewal opportunity {ids} is closed"
    if reason is SkipReason.BEYOND_HORIZON:
        return (f"ends {contract.end_date}, more than {policy.eligibility.horizon_days} days "
                f"from today")
    if reason is SkipReason.ALREADY_ENDED:
        return f"ended {contract.end_date}, before today"
    if reason is SkipReason.MISSING_END_DATE:
        return "the contract has no end date"
    if reason is SkipReason.EVERGREEN:
        return ("the contract is evergreen (it renews by itself until cancelled), so it gets "
                "no renewal opportunity; to renew it on an opportunity anyway, set "
                "rules.eligibility.renew_evergreen: true" + _kept_words(renewals))
    if reason is SkipReason.BELOW_MIN_TERM:
        months = renewal_term_months(contract, default_months=policy.default_term_months)
        minimum = policy.eligibility.min_term_months
        return (f"its renewal term is {months} month{'s' if months != 1 else ''}, below "
                f"rules.eligibility.min_term_months ({minimum}): a month-to-month contract "
                f"renews by itself, so it gets no renewal opportunity; to renew it on one, "
                f"lower min_term_months to {months}" + _kept_words(renewals))
    return "the contract is marked do-not-renew"


def _kept_words(renewals: tuple[ExistingRenewal, ...]) -> str:
    ids = [r.opportunity_id for r in renewals if r.created_by_sfrenew and not r.is_closed]
    if not ids:
        return ""
    return (f"; its open renewal opportunity {', '.join(ids)} (made by sfrenew earlier) is "
            f"left as it is: close it or keep it by hand")


_DecisionMemo = dict[tuple[Decimal, int, str | None, Decimal | None, Decimal | None],
                     UpliftDecision]


def _candidate(contract: Contract, *, account: Account, policy: RulesPolicy,
               table: UpliftTable, memo: _DecisionMemo,
               notes: tuple[LineNote, ...]) -> _Candidate:
    end = contract.end_date
    assert end is not None  # _check rejected contracts without one
    months = renewal_term_months(contract, default_months=policy.default_term_months)
    term = natural_renewal(end, months)
    annual = _ZERO
    for line in contract.lines:
        annual += line.quantity * (line.annual_price or 0)
    member = CotermMember(contract.id, contract.currency, term.start, term.end, months, annual)
    # The contract's own bounds: which bounds apply depends on where the rate came from
    # (decide_uplift's bounds_for), so the decision is keyed by these.
    cap, floor = contract.uplift_cap, contract.uplift_floor
    pricing = account.renewal_pricing  # the memo is per account: not part of its key
    decisions = []
    for line in contract.lines:
        rate, source, rule_name = table.choose(line=line, contract=contract, account=account)
        # Lines mostly share a handful of decisions: reuse the (immutable) value. The
        # first one met in the account wins among equal keys (0.05 and 0.050).
        memo_key = (rate, source, rule_name, cap, floor)
        decision = memo.get(memo_key)
        if decision is None:
            decision = memo[memo_key] = table.decide(rate, source, rule_name, cap, floor,
                                                     pricing)
        decisions.append(decision)
    return _Candidate(contract, member, tuple(decisions), notes)


_RiskMemo = dict[tuple[Decimal, int | None], RiskAssessment]


@dataclass(frozen=True, slots=True)  # what every group of one planning call shares
class _GroupContext:
    by_id: Mapping[str, _Candidate]
    account: Account
    today: date
    policy: RulesPolicy
    signals: RiskSignals
    existing_tasks: Mapping[str, ExistingTask]
    risks: _RiskMemo
    deleted_keys: frozenset[str]


def _plan_adopted(adopted_to: Mapping[str, ExistingRenewal], *,
                  candidates: Sequence[_Candidate], context: _GroupContext,
                  skipped: list[SkippedContract]) -> list[PlannedRenewal]:
    """One renewal per adopted opportunity, of the contracts that renew on it.

    Its contracts are a group of their own, never co-termed into another renewal. Should
    they not make one group (another currency), the first group renews on the
    opportunity and the others' contracts are reported.
    """
    members_of: dict[str, list[CotermMember]] = {}
    for c in candidates:
        theirs = adopted_to.get(c.contract.id)
        if theirs is not None:
            members_of.setdefault(theirs.opportunity_id, []).append(c.member)
    out = []
    for opp_id, members in sorted(members_of.items()):
        first, *rest = group_members(members, context.policy.coterm)
        for group in rest:
            for m in group:
                skipped.append(SkippedContract(
                    m.contract_id, SkipReason.ALREADY_RENEWED_BY_PERSON,
                    f"it renews on opportunity {opp_id}, a renewal a person made that "
                    f"sfrenew adopted, with contracts it cannot be co-termed with; "
                    f"sfrenew leaves it to the person"))
        out.append(_plan_group(first, key=adopted_renewal_key(opp_id),
                               existing=adopted_to[first[0].contract_id], context=context,
                               adoption=_adopted_words(opp_id)))
    return out


def _plan_group(
    members: tuple[CotermMember, ...],
    *,
    key: str,
    existing: ExistingRenewal | None,
    context: _GroupContext,
    adoption: str | None = None,
) -> PlannedRenewal:
    """One renewal of ``members``. ``adoption`` (words saying so) marks a renewal a
    person made that sfrenew adopted: ``existing`` is the person's opportunity."""
    by_id, account, today, policy = (context.by_id, context.account, context.today,
                                     context.policy)
    signals, existing_tasks = context.signals, context.existing_tasks
    risks, deleted_keys = context.risks, context.deleted_keys
    # One pass over the members (comprehensions are calls): the candidates, their
    # contracts by id and numbers, the largest uplift (the first of equals, as max()
    # keeps) and the latest previous renewal.
    candidates = []
    by_contract: dict[str, Contract] = {}
    numbers = []
    top_rate: Decimal | None = None
    latest: int | None = None
    for m in members:
        c = by_id[m.contract_id]
        candidates.append(c)
        contract = c.contract
        by_contract[contract.id] = contract
        numbers.append(contract.number)
        late_days = contract.renewed_late_days
        if late_days is not None and (latest is None or late_days > latest):
            latest = late_days
        for d in c.uplifts:
            if top_rate is None or d.rate > top_rate:
                top_rate = d.rate
    assert top_rate is not None  # every candidate has at least one line (_check)
    currency = members[0].currency
    decimals = policy.currencies[currency]
    # Same account, same signals: groups with the same inputs share one assessment.
    risk = risks.get((top_rate, latest))
    if risk is None:
        risk = risks[(top_rate, latest)] = assess_risk(
            RiskContext(signals, today, top_rate, latest), policy.risk)
    adjustments = policy.uplift.risk_adjustments
    items = []
    quantity_words: dict[tuple[str, str], str] = {}  # (contract, source line) -> netting
    left_out: list[str] = []
    for c in candidates:
        for note in c.notes:
            if note.kind is LineNoteKind.NETTED:
                quantity_words[(c.contract.id, note.line_id)] = note.text
            else:
                left_out.append(f"Contract {c.contract.number}: {note.text}")
        uplifts = (tuple(with_risk(d, level=risk.level, adjustments=adjustments)
                         for d in c.uplifts) if adjustments else c.uplifts)
        start = c.member.start
        contract_id = c.contract.id
        for line, d in zip(c.contract.lines, uplifts, strict=True):
            if deleted_keys and line_key(key, contract_id=contract_id,
                                         source_line_id=line.id) in deleted_keys:
                left_out.append(f"Contract {c.contract.number}: {line.product_name} (line "
                                f"{line.id}) was removed from this renewal by a person, so "
                                f"it stays removed")
                continue
            items.append(LineToPrice(line, d, start, contract_id))
    pricer = GroupPricer(items, method=policy.proration,
                         compound=compounds(policy.uplift, account), decimals=decimals)

    ends = anchor_ends(members, policy.coterm)
    anchor = ends[policy.coterm.anchor]
    end_date = anchor.end_date
    priced = pricer.price(end_date)
    chosen_amount = sum((p[4] for p in priced), Decimal(0))  # each line's amount

    def amount_for_end(end: date) -> Decimal:
        return chosen_amount if end == end_date else pricer.estimate(end)

    comparison = compare_anchors(members, ends, chosen=policy.coterm.anchor,
                                 amount_for_end=amount_for_end)
    changes = (term_changes(members, end_date, window_days=policy.coterm.window_days)
               if len(members) > 1 or anchor.anchor_contract_id is None or anchor.rolled_forward
               else ())
    group = CotermGroup(currency, members, anchor, comparison, changes)
    start_date = members[0].start
    quantum = quantum_for(decimals)
    lines = _planned_lines(key, items, priced, end_date=end_date, currency=currency,
                           quantum=quantum, quantity_words=quantity_words)
    amount = chosen_amount  # the same sum: each line's amount is its priced amount
    figures = renewal_figures(lines, start=start_date, end=end_date, quantum=quantum)
    stage = existing.stage if existing is not None else policy.forecast.initial_stage
    forecast, capped = forecast_category(stage=stage, risk=risk.level, policy=policy.forecast)
    values = {
        "account": account.name, "start_date": iso(start_date),
        "end_date": iso(end_date), "currency": currency,
        "amount": format_money(amount, currency).rsplit(" ", 1)[0], "risk": risk.level.value,
        "contracts": ", ".join(numbers),
    }
    name = render(policy.opportunity_name, values)[:OPPORTUNITY_NAME_MAX]
    values["opportunity"] = name
    tasks, unplanned = plan_cadence(
        renewal_key=key, renewal_start=start_date, today=today, risk=risk.level,
        values=values, policy=policy.cadence, existing=existing_tasks)
    lapse = lapse_of(start_date, today=today, policy=policy.lapse)
    if lapse is not None:  # past its start, unsigned: kept, marked overdue and escalated
        escalation = escalation_task(renewal_key=key, lapse=lapse, today=today,
                                     values=values, policy=policy.lapse,
                                     existing=existing_tasks)
        if escalation is not None:
            tasks = tuple(sorted((*tasks, escalation), key=_BY_DUE_DATE_AND_STEP))
    approvals = approval_reasons(group=group, contracts=by_contract, lines=lines)
    parts = RenewalParts(group, start_date, end_date, amount, currency, lines, risk, forecast,
                         stage, capped, tasks, unplanned, figures, approvals, tuple(left_out))
    derivation = explain_parts(parts, account=account, contracts=by_contract,
                               window_days=policy.coterm.window_days)
    overdue = (lapse_words(lapse, escalated=policy.lapse.escalation is not None)
               if lapse is not None else None)
    # Said first, to the rep and the admin: past its start unsigned, and whose it is.
    lead = "\n".join(w for w in (overdue, _adopted_lead(adoption)) if w) or None
    if overdue is not None or adoption is not None:
        said = "\n".join(w for w in (overdue, adoption) if w)
        derivation = truncate(f"{said}\n\n{derivation}", policy.explanation_max_chars)
    talk = talk_track(parts, account=account, contracts=by_contract, quantum=quantum,
                      lead=lead)
    return PlannedRenewal(
        key, account.id, name, currency, start_date, end_date, start_date - ONE_DAY, stage,
        amount, group, lines, tasks, unplanned, risk, forecast, capped,
        existing.opportunity_id if existing is not None else None, talk, figures, approvals,
        derivation, lapse.days_overdue if lapse is not None else 0, adoption is not None)


def approval_reasons(*, group: CotermGroup, contracts: Mapping[str, Contract],
                     lines: Sequence[PlannedLine] = ()) -> tuple[str, ...]:
    """Why a person must approve this renewal before it reaches the customer (empty: no need).

    The one home of the approval rules; each reason is a plain sentence, written on the
    opportunity (``approval_reason``) with the ``needs_approval`` flag set:

    * a co-term **term change** — the chosen anchor moves a line's end by more than the
      co-term window (only when the policy allows it: ``allow_term_change`` or the
      ``calendar`` anchor), e.g. "the 36-month term of contract 00000005 is shortened
      to 11 months and 9 days (...) to co-term with contract 00000001";
    * a **contractual uplift changed by policy** — a rate written on the contract or
      line that the index formula, the policy's bounds or a risk adjustment changed
      (only when ``uplift.contractual`` allows it), e.g. "the uplift policy changed the
      contractual 7% of contract 00000042 to 4.1% on 2 lines".
    """
    reasons = []
    for change in group.term_changes:
        reasons.append(term_change_words(change, anchor=group.anchor, contracts=contracts))
    overridden: dict[tuple[str, Decimal, Decimal], int] = {}
    for line in lines:
        decision = line.uplift
        if decision.overrides_contract:
            at = (line.contract_id, decision.chosen_rate, decision.rate)
            overridden[at] = overridden.get(at, 0) + 1
    for (contract_id, chosen, rate), count in overridden.items():
        contract = contracts.get(contract_id)
        number = contract.number if contract is not None else contract_id
        reasons.append(f"the uplift policy changed the contractual {format_rate(chosen)} of "
                       f"contract {number} to {format_rate(rate)} on {count} "
                       f"line{'s' if count != 1 else ''}")
    return tuple(reasons)


def _planned_lines(renewal: str, items: list[LineToPrice], priced: list[PricedLine], *,
                   end_date: date, currency: str, quantum: Decimal,
                   quantity_words: Mapping[tuple[str, str], str],
                   ) -> tuple[PlannedLine, ...]:
    out = []
    last: Proration | None = None
    words = ("", "")
    for item, (prices, decision, proration, unit, amount) in zip(items, priced, strict=True):
        line = item.line
        prior = line.annual_price or _ZERO
        if proration is not last:  # a contract's lines share one period: describe it once
            words, last = proration_words(proration), proration
        text = explain_priced_line(line.product_name, line.quantity, prior, prices, decision,
                                   words, unit, amount, currency, quantum)
        note = line.list_price_note
        if note is not None and item.decision.pricing is PricingMethod.LIST:
            # where the list price came from (a price book entry), or why none was found
            text = truncate(f"{text} List price: {note}.", LINE_MAX)
        if quantity_words:  # amendments netted: say how the quantity came about
            netting = quantity_words.get((item.contract_id, line.id))
            if netting is not None:
                text = truncate(f"{text} Quantity netted from amendments: {netting}.",
                                LINE_MAX)
        # Positional, in PlannedLine's field order: once per line, keywords cost.
        out.append(PlannedLine(
            line_key(renewal, contract_id=item.contract_id, source_line_id=line.id),
            item.contract_id, line.id, line.product_id, line.product_name, line.quantity,
            item.start, end_date, prior, prices, unit, amount, decision, proration, text))
    return tuple(out)


def _existing_renewal(key: str, contract_ids: tuple[str, ...],
                      existing: Sequence[ExistingRenewal],
                      claimed: set[str]) -> ExistingRenewal | None:
    """sfrenew's open opportunity this renewal continues: by key, else by a shared contract.

    Several candidates sharing contracts: the smallest opportunity Id, so the choice is
    stable; the others are no longer desired and the diff closes them. One that another
    renewal of this plan continues (``claimed``: taken by key first, then by shared
    contract in group order) is not a candidate: two renewals never write one
    opportunity.
    """
    ours = [r for r in existing if r.created_by_sfrenew and not r.is_closed]
    for renewal in ours:
        if renewal.key == key:
            return renewal
    wanted = set(contract_ids)
    for renewal in sorted(ours, key=lambda r: r.opportunity_id):
        if renewal.opportunity_id in claimed:
            continue
        if wanted.intersection(renewal.contract_ids):
            return renewal
    return None
