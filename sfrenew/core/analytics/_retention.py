"""Available to renew, per-renewal outcomes, and gross/net revenue retention.

Every figure puts a renewal in the period of its contract's end date (its cohort).

* **ATR** of a period: Σ prior ARR of the renewals due in it, whatever their outcome.
* **Outcome** of a closed renewal with prior ARR P, price escalator U (renewal ARR −
  prior ARR, as sfrenew priced it) and won ARR W: lost → churn P; won → the volume
  change v = W − P − U is expansion when positive, contraction when negative. So
  P − churn − contraction + uplift + expansion = W (0 when lost).
* **GRR / NRR** over the closed renewals of a cohort (open ones are undecided and
  left out): NRR = Σ W / Σ P; GRR = Σ min(W, P) / Σ P (as reported). *Excluding price
  escalators* each W is taken at prior prices (W − U): NRR = (end − uplift) / start,
  GRR = (start − churn − contraction) / start. Rates are fractions rounded half-up to
  4 places (0.9512 is 95.12 %).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from sfrenew.core.analytics._periods import Grain, period_of
from sfrenew.core.analytics._values import Outcome, RenewalFact, RenewalOutcome

_ZERO = Decimal(0)
_RATE = Decimal("0.0001")
NONE_LABEL = "(none)"


class Dimension(StrEnum):
    """What ATR can be split by besides time."""

    SEGMENT = "segment"
    REGION = "region"
    OWNER = "owner"
    RISK = "risk"


def ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    """``numerator / denominator`` as a fraction rounded half-up to 4 places; None for /0."""
    if not denominator:
        return None
    return (numerator / denominator).quantize(_RATE, rounding=ROUND_HALF_UP)


def dimension_value(fact: RenewalFact, by: Dimension) -> str:
    """The value of ``fact`` that ``by`` groups on (``(none)`` when it has none)."""
    value = {Dimension.SEGMENT: fact.segment, Dimension.REGION: fact.region,
             Dimension.OWNER: fact.owner, Dimension.RISK: fact.risk_level}[by]
    return value or NONE_LABEL


def atr(facts: Iterable[RenewalFact], *, grain: Grain, by: Dimension | None = None
        ) -> dict[str, dict[str, Decimal]]:
    """ATR per period (sorted) and per ``by`` value (``"all"`` when ``by`` is None)."""
    out: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for fact in facts:
        key = "all" if by is None else dimension_value(fact, by)
        out[period_of(fact.due, grain)][key] += fact.prior_arr
    return {p: dict(sorted(out[p].items())) for p in sorted(out)}


def outcome_of(fact: RenewalFact, *, grain: Grain) -> RenewalOutcome | None:
    """The retention movements of a closed renewal (None while it is open)."""
    period = period_of(fact.due, grain)
    prior = fact.prior_arr
    if fact.outcome is Outcome.LOST:
        return RenewalOutcome(fact.renewal_id, period, prior, _ZERO, _ZERO, _ZERO, _ZERO,
                              prior, fact.loss_reason)
    if fact.outcome is Outcome.OPEN:
        return None
    won = fact.renewal_arr if fact.won_arr is None else fact.won_arr
    volume = won - prior - fact.uplift
    return RenewalOutcome(fact.renewal_id, period, prior, won, fact.uplift,
                          max(volume, _ZERO), max(-volume, _ZERO), _ZERO, None)


@dataclass(frozen=True, slots=True)
class Retention:
    """One cohort's retention waterfall and rates."""

    start: Decimal
    churn: Decimal
    contraction: Decimal
    uplift: Decimal
    expansion: Decimal
    end: Decimal
    gross_retained: Decimal  # Σ min(W, P): what GRR as reported counts
    renewals: int
    grr: Decimal | None
    nrr: Decimal | None
    grr_excluding_escalators: Decimal | None
    nrr_excluding_escalators: Decimal | None


def retention(outcomes: Iterable[RenewalOutcome]) -> Retention:
    """GRR/NRR of a set of closed renewals (one cohort, or a cohort's segment)."""
    start = churn = contraction = uplift = expansion = end = gross = _ZERO
    count = 0
    for o in outcomes:
        count += 1
        start += o.prior
        churn += o.churn
        contraction += o.contraction
        uplift += o.uplift
        expansion += o.expansion
        end += o.renewed
        gross += min(o.renewed, o.prior)
    return Retention(start, churn, contraction, uplift, expansion, end, gross, count,
                     grr=ratio(gross, start), nrr=ratio(end, start),
                     grr_excluding_escalators=ratio(start - churn - contraction, start),
                     nrr_excluding_escalators=ratio(end - uplift, start))


def retention_by_period(facts: Iterable[RenewalFact], *, grain: Grain,
                        by: Dimension | None = None) -> dict[str, dict[str, Retention]]:
    """Retention per cohort period (sorted) and per ``by`` value (``"all"`` if None)."""
    groups: dict[str, dict[str, list[RenewalOutcome]]] = defaultdict(lambda: defaultdict(list))
    for fact in facts:
        outcome = outcome_of(fact, grain=grain)
        if outcome is not None:
            key = "all" if by is None else dimension_value(fact, by)
            groups[outcome.period][key].append(outcome)
    return {p: {k: retention(v) for k, v in sorted(groups[p].items())} for p in sorted(groups)}


def churn_by_reason(outcomes: Iterable[RenewalOutcome]) -> Mapping[str, Decimal]:
    """Churned ARR per loss reason (``(none)`` when the rep picked none), largest first."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for o in outcomes:
        if o.churn:
            totals[o.loss_reason or NONE_LABEL] += o.churn
    return dict(sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])))
