"""Co-terming: which renewals of an account become one opportunity, and its end date.

Renewals of one account whose start dates fall within ``window_days`` of the group's
first start (so within the window of each other) *and whose renewal terms are
compatible* form one group; currencies are never mixed. By default
(``term_compatibility: same_term``) only renewals with the same term length share a
group: a 36-month and a 12-month contract renew on two opportunities, each its full
term. Every line of a group keeps its own start — the day after its contract ends,
so no day is left uncovered or billed twice — and ends on the group's end date,
which the anchor policy chooses:

* ``earliest`` — the natural renewal end of the earliest-ending contract (later
  contracts get a shorter, prorated stub; CPQ's "master = earliest");
* ``latest`` — the latest natural renewal end (earlier contracts run longer);
* ``largest`` — the natural renewal end of the contract with the highest annual
  amount (ties: the earlier end, then the contract id);
* ``calendar`` — the first configured month and day (e.g. the fiscal year end)
  that leaves the latest-starting line at least ``calendar_min_days`` days.

**A term is never changed silently.** Co-terming moves a line's end by at most
``window_days`` (a stub, as CPQ's master contract gives). Under a contract anchor, a
line the anchor would move further leaves the group and renews on its own (with
the others it fits), unless ``allow_term_change`` is set. A move beyond the window
that a policy does make (``allow_term_change``, or the ``calendar`` anchor, whose
fixed date is the point) is a :class:`TermChange`: the planner writes it in plain
words on the opportunity and flags the renewal for approval.

An end that falls before a line's start (possible when the window is longer than a
term) is rolled forward by the anchor's term until it covers every line; that is a
term change of the anchor contract too.

For a person to see why one policy was chosen, every group carries all four policies
side by side: the end date, **gap days** (days by which lines end *before* their
contract's natural renewal end — renewed again sooner), **overlap days** (days by
which lines run *past* their natural renewal end), and the prorated amount.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from operator import attrgetter
from typing import NamedTuple

from sfrenew.core.policy import AnchorPolicy, CotermPolicy, TermCompatibility
from sfrenew.core.rules.term import ONE_DAY, days_in_month, term_end

_START = attrgetter("start")
_CONTRACT_ID = attrgetter("contract_id")
_BY_CURRENCY_START_ID = attrgetter("currency", "start", "contract_id")
_BY_CURRENCY_TERM_START_ID = attrgetter("currency", "term_months", "start", "contract_id")
_BY_NATURAL_END_ID = attrgetter("natural_end", "contract_id")


class CotermMember(NamedTuple):
    """One contract's natural renewal, as co-terming sees it."""

    contract_id: str
    currency: str
    start: date
    natural_end: date
    term_months: int
    annual_amount: Decimal  # the contract's current annual amount (for ``largest``)


class AnchorEnd(NamedTuple):
    """Where a policy puts the group's end date, and on which contract."""

    policy: AnchorPolicy
    end_date: date
    anchor_contract_id: str | None  # None for ``calendar``
    rolled_forward: bool  # the policy's end was before a line's start


class AnchorOutcome(NamedTuple):
    """One policy's result for a group, for the side-by-side comparison."""

    policy: AnchorPolicy
    end_date: date
    gap_days: int
    overlap_days: int
    amount: Decimal
    chosen: bool


class TermChange(NamedTuple):
    """A line whose end co-terming moves by more than the window: its term changes."""

    contract_id: str
    term_months: int  # the contract's renewal term
    start: date  # the line's start (the day after its contract ends)
    natural_end: date  # where its own term would end
    end_date: date  # where co-terming ends it

    @property
    def shift_days(self) -> int:
        """Days the end moves: negative when the term is shortened, positive when extended."""
        return (self.end_date - self.natural_end).days


class CotermGroup(NamedTuple):
    """Renewals that become one opportunity, the chosen end and the comparison.

    ``term_changes`` lists the lines whose end the chosen anchor moves by more than
    the co-term window (empty under the default policy, see the module docstring).
    """

    currency: str
    members: tuple[CotermMember, ...]
    anchor: AnchorEnd
    comparison: tuple[AnchorOutcome, ...]
    term_changes: tuple[TermChange, ...] = ()

    @property
    def start_date(self) -> date:
        """The earliest line start: the renewal opportunity's start."""
        return self.members[0].start

    @property
    def end_date(self) -> date:
        """The date every line of the group ends."""
        return self.anchor.end_date

    @property
    def contract_ids(self) -> tuple[str, ...]:
        """The group's contracts, sorted."""
        return tuple(sorted(map(_CONTRACT_ID, self.members)))


def group_members(members: Iterable[CotermMember], policy: CotermPolicy,
                  ) -> list[tuple[CotermMember, ...]]:
    """Partition renewals into co-term groups (see the module docstring).

    Same currency, compatible terms (``policy.term_compatibility``), starts within the
    window; then, unless ``allow_term_change`` (or under the ``calendar`` anchor, which
    moves every line to its date by design), a line the anchor would move by more than
    the window leaves the group and is grouped again with the lines left over.
    Groups come out sorted by (start date, currency, first contract id); members of
    a group by (start date, contract id). With co-terming disabled every renewal is
    its own group.
    """
    same_term = policy.term_compatibility is TermCompatibility.SAME_TERM
    ordered = sorted(members, key=_BY_CURRENCY_TERM_START_ID if same_term
                     else _BY_CURRENCY_START_ID)
    window = policy.window_days
    groups: list[list[CotermMember]] = []
    for member in ordered:
        current = groups[-1] if groups else None
        if (policy.enabled and current is not None and current[0].currency == member.currency
                and (not same_term or current[0].term_months == member.term_months)
                and (member.start - current[0].start).days <= window):
            current.append(member)
        else:
            groups.append([member])
    if (policy.enabled and not policy.allow_term_change
            and policy.anchor is not AnchorPolicy.CALENDAR):
        limited: list[list[CotermMember]] = []
        for g in groups:
            if len(g) == 1:
                limited.append(g)
            else:
                limited.extend(_within_window(g, policy))
        groups = limited
    if len(groups) > 1:
        groups.sort(key=lambda g: (g[0].start, g[0].currency, g[0].contract_id))
    out = []
    for g in groups:  # a loop: a comprehension is a call
        out.append(tuple(g))
    return out


def group_keeping(members: Iterable[CotermMember], policy: CotermPolicy,
                  kept: Sequence[Iterable[str]]) -> list[tuple[CotermMember, ...]]:
    """:func:`group_members`, except that the members of each existing renewal stay together.

    ``kept`` lists the contract Ids of each open renewal sfrenew made (first come,
    first served when two name one contract). A group a renewal already holds is not
    regrouped because a later run sees other contracts (a backfill's window did not
    reach a contract the nightly horizon now does): each such group is grouped by
    :func:`group_members` on its own members, and a new contract joins it only when
    :func:`group_members` keeps the joined group whole; the other new contracts are
    grouped among themselves. Output order as :func:`group_members`.
    """
    if not kept:
        return group_members(members, policy)
    by_id = {m.contract_id: m for m in members}
    taken: set[str] = set()
    seeds: list[list[CotermMember]] = []
    for ids in kept:
        seed = [by_id[c] for c in sorted(set(ids)) if c in by_id and c not in taken]
        if seed:
            taken.update(m.contract_id for m in seed)
            seeds.append(seed)
    free: list[CotermMember] = []
    for member in sorted((m for m in by_id.values() if m.contract_id not in taken),
                         key=_BY_CURRENCY_START_ID):
        for seed in seeds:
            if (policy.enabled and seed[0].currency == member.currency
                    and len(group_members([*seed, member], policy)) == 1):
                seed.append(member)
                break
        else:
            free.append(member)
    out = [g for seed in seeds for g in group_members(seed, policy)]
    out += group_members(free, policy)
    out.sort(key=lambda g: (g[0].start, g[0].currency, g[0].contract_id))
    return out


def _within_window(group: list[CotermMember], policy: CotermPolicy,
                   ) -> list[list[CotermMember]]:
    """``group`` split so that the anchor moves no line's end by more than the window.

    The anchor's own line never moves (unless its end had to roll forward), so every
    round keeps at least one line: the lines that move too far are grouped again,
    from the earliest start, until none is left.
    """
    window = policy.window_days
    out: list[list[CotermMember]] = []
    rest = group  # sorted by start
    while rest:
        first = rest[0].start
        head = [m for m in rest if (m.start - first).days <= window]
        if len(head) > 1:
            end = _anchor_end(tuple(head), policy.anchor, policy,
                              max(m.start for m in head)).end_date
            kept = [m for m in head if abs((end - m.natural_end).days) <= window]
            head = kept or head[:1]
        out.append(head)
        taken = {m.contract_id for m in head}
        rest = [m for m in rest if m.contract_id not in taken]
    return out


def term_changes(members: tuple[CotermMember, ...], end: date, *, window_days: int,
                 ) -> tuple[TermChange, ...]:
    """The lines whose end moves by more than ``window_days`` when the group ends on ``end``."""
    out = []
    for m in members:  # a loop: a comprehension is a call
        shift = (end - m.natural_end).days
        if shift > window_days or -shift > window_days:
            out.append(TermChange(m.contract_id, m.term_months, m.start, m.natural_end, end))
    return tuple(out)


def _calendar_end(latest_start: date, policy: CotermPolicy) -> date:
    earliest_end = latest_start + (policy.calendar_min_days - 1) * ONE_DAY
    for year in (earliest_end.year, earliest_end.year + 1):
        day = min(policy.calendar_day, days_in_month(year, policy.calendar_month))
        candidate = date(year, policy.calendar_month, day)
        if candidate >= earliest_end:
            return candidate
    raise AssertionError("unreachable: the next year's date is always later")


def anchor_end(members: tuple[CotermMember, ...], *, anchor: AnchorPolicy,
               policy: CotermPolicy) -> AnchorEnd:
    """The group's end date under ``anchor`` (see the module docstring)."""
    return _anchor_end(members, anchor, policy, max(m.start for m in members))


def _anchor_end(members: tuple[CotermMember, ...], anchor: AnchorPolicy,
                policy: CotermPolicy, latest_start: date) -> AnchorEnd:
    if anchor is AnchorPolicy.CALENDAR:
        return AnchorEnd(anchor, _calendar_end(latest_start, policy), None, False)
    if anchor is AnchorPolicy.EARLIEST:
        chosen = min(members, key=_BY_NATURAL_END_ID)
    elif anchor is AnchorPolicy.LATEST:
        chosen = min(members, key=lambda m: (-m.natural_end.toordinal(), m.contract_id))
    else:
        chosen = min(members, key=lambda m: (-m.annual_amount, m.natural_end, m.contract_id))
    end = chosen.natural_end
    rolled = False
    while end < latest_start:
        end = term_end(end + ONE_DAY, max(chosen.term_months, 1))
        rolled = True
    return AnchorEnd(anchor, end, chosen.contract_id, rolled)


def gap_and_overlap(members: tuple[CotermMember, ...], end: date) -> tuple[int, int]:
    """Total days lines end before, and run past, their natural renewal ends."""
    gap = overlap = 0
    for m in members:
        delta = (end - m.natural_end).days
        if delta < 0:
            gap -= delta
        else:
            overlap += delta
    return gap, overlap


_ANCHORS = tuple(AnchorPolicy)  # iterating an Enum class costs a generator each time


def anchor_ends(members: tuple[CotermMember, ...], policy: CotermPolicy,
                ) -> dict[AnchorPolicy, AnchorEnd]:
    """The group's end under every anchor policy, in the policies' order."""
    if len(members) == 1:  # the common case: every contract anchor is the contract itself
        only = members[0]
        own = _own_end(only, AnchorPolicy.EARLIEST)  # the same end for each contract anchor
        ends = {}
        for a in _ANCHORS:  # loops: a comprehension is a call
            ends[a] = (AnchorEnd(a, _calendar_end(only.start, policy), None, False)
                       if a is AnchorPolicy.CALENDAR
                       else own if a is AnchorPolicy.EARLIEST
                       else AnchorEnd(a, own.end_date, own.anchor_contract_id,
                                      own.rolled_forward))
        return ends
    latest_start = max(map(_START, members))
    ends = {}
    for a in _ANCHORS:
        ends[a] = _anchor_end(members, a, policy, latest_start)
    return ends


def _own_end(member: CotermMember, anchor: AnchorPolicy) -> AnchorEnd:
    """A lone member's end: its natural end, rolled forward as ``anchor_end`` does."""
    end = member.natural_end
    rolled = False
    while end < member.start:
        end = term_end(end + ONE_DAY, max(member.term_months, 1))
        rolled = True
    return AnchorEnd(anchor, end, member.contract_id, rolled)


def compare_anchors(
    members: tuple[CotermMember, ...],
    ends: Mapping[AnchorPolicy, AnchorEnd],
    *,
    chosen: AnchorPolicy,
    amount_for_end: Callable[[date], Decimal],
) -> tuple[AnchorOutcome, ...]:
    """Every policy's outcome; ``amount_for_end`` prices the group to an end date.

    Policies landing on the same end date share one pricing.
    """
    by_end: dict[date, tuple[int, int, Decimal]] = {}  # gap, overlap and amount by end
    outcomes = []
    for policy, end in ends.items():
        end_date = end.end_date
        found = by_end.get(end_date)
        if found is None:
            gap, overlap = gap_and_overlap(members, end_date)
            found = by_end[end_date] = (gap, overlap, amount_for_end(end_date))
        outcomes.append(AnchorOutcome(policy, end_date, *found, policy is chosen))
    return tuple(outcomes)
