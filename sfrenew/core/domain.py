"""Domain values the renewal rules read: accounts, contracts, their lines, signals.

Everything here is a frozen value built by the shell from mapped Salesforce
records. Money is :class:`~decimal.Decimal`, dates are :class:`datetime.date`;
a field Salesforce may leave empty is ``None`` here, and the rules say what an
empty value means.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum


class RiskLevel(StrEnum):
    """How likely a renewal is to be lost, as a rep reads it."""

    LOW = "Low"
    MEDIUM = "Medium"
    HIGH = "High"


RISK_ORDER = {RiskLevel.LOW: 0, RiskLevel.MEDIUM: 1, RiskLevel.HIGH: 2}


class PricingMethod(StrEnum):
    """Where a renewal line's price comes from (also ``sfrenew.core.policy``'s)."""

    SAME = "same"  # the prior price
    UPLIFT = "uplift"  # the prior price × (1 + rate)
    LIST = "list"  # the current price book entry


@dataclass(frozen=True, slots=True)
class Account:
    """The customer whose contracts renew.

    ``segment`` and ``region`` drive the uplift rule list. ``renewal_pricing`` is the
    account's own pricing method (CPQ's Renewal Pricing Method) when the mapping maps
    one; it then replaces the policy's ``uplift.pricing`` for the account's lines.
    """

    id: str
    name: str
    segment: str | None = None
    region: str | None = None
    renewal_pricing: PricingMethod | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ContractLine:
    """One subscription line of a contract.

    ``annual_price`` is the annual price per unit the customer pays today (the
    prior price); ``list_price`` is the current price book entry, used by the
    ``list`` pricing method; ``uplift_rate`` is the line's own uplift field, which
    wins over every other source. ``evergreen`` marks an evergreen (auto-renewing,
    no end date) subscription, e.g. CPQ's Subscription Type ``Evergreen``. ``quantity``
    is negative on an amendment that takes units away. ``start_date``/``end_date`` are
    the line's own (empty: the contract's), ``terminated_date`` the day it was
    terminated, if it was. ``list_price_note`` says where the shell found the list
    price (a price book entry, or why none was found); a line priced ``list`` says it.
    ``currency`` is the line's own ISO code where the org maps one (empty: the
    contract's); one that differs from the contract's is dirty data.
    """

    id: str
    product_id: str
    product_name: str
    quantity: Decimal
    annual_price: Decimal | None
    product_family: str | None = None
    list_price: Decimal | None = None
    uplift_rate: Decimal | None = None
    evergreen: bool = False
    start_date: date | None = None
    end_date: date | None = None
    terminated_date: date | None = None
    list_price_note: str | None = None
    currency: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Contract:
    """A contract as mapped from the org.

    ``term_months`` is the contract's own term; ``renewal_term_months`` its
    renewal-term field, which wins when set. ``uplift_cap`` and ``uplift_floor``
    are the contractual bounds on the uplift rate; when empty, the policy's
    bounds apply.
    """

    id: str
    account_id: str
    number: str
    status: str
    currency: str
    start_date: date | None
    end_date: date | None
    lines: tuple[ContractLine, ...]
    term_months: int | None = None
    renewal_term_months: int | None = None
    do_not_renew: bool = False
    uplift_rate: Decimal | None = None
    uplift_cap: Decimal | None = None
    uplift_floor: Decimal | None = None
    renewed_late_days: int | None = None  # how late its own renewal was signed, if known
    evergreen: bool = False

    @property
    def is_evergreen(self) -> bool:
        """True when the contract or any of its lines is evergreen.

        CPQ never puts evergreen and renewable subscriptions on one contract and marks
        a contract holding an evergreen subscription as evergreen; so does sfrenew.
        """
        return self.evergreen or any(line.evergreen for line in self.lines)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExistingRenewal:
    """A renewal opportunity the org already holds for some contracts.

    ``created_by_sfrenew`` is true when the opportunity carries an sfrenew key;
    any other opportunity was made by a person, and its contracts are left alone.
    """

    opportunity_id: str
    contract_ids: tuple[str, ...]
    created_by_sfrenew: bool
    stage: str
    is_closed: bool = False
    key: str | None = None
    # A person's opportunity that names no contract: its close date and whether its type
    # is Renewal decide whether a contract adopts it (``rules.adoption``).
    close_date: date | None = None
    renewal_type: bool = False
    # A person's opportunity sfrenew adopted on an earlier run (the ledger holds sfrenew's
    # writes onto it, or the contract link sfrenew wrote to it): while open, sfrenew keeps
    # maintaining its own fields and tasks on it (``rules.adoption``).
    adopted: bool = False

    @property
    def maintained_by_sfrenew(self) -> bool:
        """True for an open renewal sfrenew made or adopted: it stays sfrenew's to maintain."""
        return (self.created_by_sfrenew or self.adopted) and not self.is_closed

    @property
    def adoptable(self) -> bool:
        """True for an open Renewal-type opportunity a person made that names no contract."""
        return (not self.created_by_sfrenew and not self.contract_ids and self.renewal_type
                and not self.is_closed and self.close_date is not None)


@dataclass(frozen=True, slots=True)
class ExistingTask:
    """A cadence task sfrenew created earlier, as the org holds it now.

    ``closed_by_sfrenew``: the task is closed because sfrenew completed it itself (the
    ledger's last write of its status is sfrenew's close, and nobody changed the task
    since), not a person. Earlier versions completed the open tasks of renewals that
    were still open; such a task is reopened while its renewal is planned
    (:attr:`stays_closed`), a task a person completed never is.
    """

    key: str
    due_date: date
    is_closed: bool
    closed_by_sfrenew: bool = False

    @property
    def stays_closed(self) -> bool:
        """True for a closed task sfrenew leaves closed: one it did not close itself."""
        return self.is_closed and not self.closed_by_sfrenew


@dataclass(frozen=True, slots=True)
class RiskSignals:
    """The account's risk inputs; ``None`` means the org does not know.

    ``usage_change`` is the change in usage over the configured period, a fraction
    like every rate in sfrenew (−0.25 means usage fell by a quarter).
    """

    health_score: Decimal | None = None
    open_high_severity_cases: int = 0
    last_completed_activity: date | None = None
    usage_change: Decimal | None = None
    champion_gone: bool = False
    payment_days_overdue: int | None = None
