"""sfrenew's concepts and their fields: the vocabulary a mapping file maps onto an org.

This catalogue is the contract between the mapping files, the pull (which SELECTs the
mapped fields), the rules engine (which reads and writes concept fields by these names)
and the apply step (which writes the mapped API names). A concept field has a default
coercion, says whether the rules need it, and whether sfrenew writes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class Concept(StrEnum):
    """The things sfrenew reads or writes; each maps to one sObject."""

    ACCOUNT = "account"
    CONTRACT = "contract"
    CONTRACT_LINE = "contract_line"
    RENEWAL_OPPORTUNITY = "renewal_opportunity"
    RENEWAL_LINE = "renewal_line"
    TASK = "task"
    CASES = "cases"
    ACTIVITIES = "activities"
    CONTACTS = "contacts"
    USAGE = "usage"
    USER = "user"
    PRICE_BOOK_ENTRY = "price_book_entry"
    CURRENCY_RATE = "currency_rate"
    DATED_CURRENCY_RATE = "dated_currency_rate"
    RENEWAL_METRIC = "renewal_metric"
    FORECAST_SNAPSHOT = "forecast_snapshot"


class WriteMode(StrEnum):
    """How sfrenew writes a concept's records."""

    READ = "read"  # never written
    UPDATE = "update"  # existing records updated by Id (the account's risk fields)
    UPSERT = "upsert"  # created and kept by sfrenew, upserted by an external-Id key


class Coercion(StrEnum):
    """How a Salesforce value becomes a plain value (and back)."""

    STRING = "string"
    DATE = "date"
    DECIMAL = "decimal"
    PERCENT = "percent"  # a percent field: 5 in Salesforce is Decimal("0.05") for sfrenew
    INT = "int"
    BOOL = "bool"
    PICKLIST = "picklist"
    ID = "id"


@dataclass(frozen=True)
class ConceptField:
    """One field of a concept as the rules engine sees it."""

    name: str
    coercion: Coercion
    doc: str
    required: bool = False  # the rules cannot work without it
    written: bool = False  # sfrenew writes it (so it has an ownership)
    references: Concept | None = None  # an Id of a record of this concept
    long_text: bool = False  # generated metadata: a long text area, not a 255-char text
    money: bool = False  # generated metadata: a Currency field, not a Number
    # Generated metadata only: the size of a Number (precision, scale) or a Text field,
    # where the default (Number(18, 6), Text(255)) does not fit the values.
    digits: tuple[int, int] | None = None
    length: int | None = None


def _f(name: str, coercion: Coercion, doc: str, **kw: object) -> ConceptField:
    return ConceptField(name, coercion, doc, **kw)  # type: ignore[arg-type]


S, D, N, P, INT, B, PL, ID = (Coercion.STRING, Coercion.DATE, Coercion.DECIMAL, Coercion.PERCENT,
                            Coercion.INT, Coercion.BOOL, Coercion.PICKLIST, Coercion.ID)

_CATALOGUE: dict[Concept, tuple[ConceptField, ...]] = {
    Concept.ACCOUNT: (
        _f("name", S, "account name, for explanations and task subjects"),
        _f("owner", ID, "account owner (User Id): default assignee of renewal work and the "
           "fallback of every assignee role", references=Concept.USER),
        _f("renewal_rep", ID, "renewal rep lookup (User Id), for rules.owners "
           "renewal_owner: account_field:renewal_rep", references=Concept.USER),
        _f("renewal_manager", ID, "renewal manager lookup (User Id), for rules.owners "
           "renewal_manager: account_field:renewal_manager", references=Concept.USER),
        _f("account_executive", ID, "account executive lookup (User Id), for rules.owners "
           "account_executive: account_field:account_executive", references=Concept.USER),
        _f("segment", PL, "customer segment, matched by uplift rules"),
        _f("region", PL, "sales region, matched by uplift rules"),
        _f("health_score", N, "customer health score (risk signal)"),
        _f("payment_overdue", B, "payments are overdue (risk signal)"),
        _f("payment_days_overdue", INT, "days the oldest invoice is overdue (risk signal)"),
        _f("renewal_pricing_method", PL,
           "the account's own renewal pricing method (CPQ: Same, List, Uplift; blank is "
           "Same); replaces uplift.pricing for its lines"),
        _f("risk_level", PL, "risk level written back to the account", written=True),
        _f("risk_reasons", S, "risk reason codes written back to the account", written=True,
           long_text=True),
    ),
    Concept.CONTRACT: (
        _f("account", ID, "the contract's account", required=True, references=Concept.ACCOUNT),
        _f("number", S, "contract number, for explanations"),
        _f("owner", ID, "contract owner (User Id), for rules.owners renewal_owner: "
           "contract_owner", references=Concept.USER),
        _f("start_date", D, "first day of the contract", required=True),
        _f("end_date", D, "last day of the contract", required=True),
        _f("term_months", INT, "contract term in months"),
        _f("renewal_term_months", INT, "renewal term in months (wins over the term)"),
        _f("status", PL, "contract status; only configured statuses are renewed", required=True),
        _f("currency", S, "ISO currency code (multi-currency orgs: CurrencyIsoCode)"),
        _f("do_not_renew", B, "marked not to be renewed"),
        _f("evergreen", B, "evergreen (auto-renewing until cancelled): no renewal opportunity "
           "unless rules.eligibility.renew_evergreen"),
        _f("uplift_rate", P, "contractual uplift rate (a fraction: 0.05 is 5%)"),
        _f("uplift_cap", P, "contractual uplift cap"),
        _f("uplift_floor", P, "contractual uplift floor"),
        _f("price_book", ID, "the contract's price book (Pricebook2 Id): list pricing reads "
           "its entries when price_book_entry is mapped"),
        _f("renewal_price_book", ID, "the price book its renewal is priced from (CPQ "
           "SBQQ__RenewalPricebookId__c); wins over price_book for list pricing"),
        _f("renewal_opportunity", ID, "the contract's renewal opportunity: read to recognise "
           "a renewal a person made, written when sfrenew creates or adopts one (only "
           "while empty or holding sfrenew's own value), so CPQ does not create another",
           written=True, references=Concept.RENEWAL_OPPORTUNITY),
    ),
    Concept.CONTRACT_LINE: (
        _f("product", ID, "the product (Product2 Id)", required=True),
        _f("product_name", S, "product name, for explanations"),
        _f("product_family", PL, "product family, matched by uplift rules"),
        _f("price_book_entry", ID, "price book entry, for list pricing"),
        _f("quantity", N, "quantity", required=True),
        _f("unit_price", N, "unit price actually paid (annual; see basis)", required=True),
        _f("list_price", N, "current list price (pricing method list; see basis)"),
        _f("prorate_multiplier", N, "default subscription terms the line's prices cover "
           "(CPQ Prorate Multiplier; empty counts as 1)"),
        _f("start_date", D, "first day of the line (else the contract's)"),
        _f("end_date", D, "last day of the line (else the contract's)"),
        _f("terminated_date", D, "day the line was terminated (CPQ Terminated Date)"),
        _f("uplift_rate", P, "line-level uplift rate (wins over every other source)"),
        _f("currency", S, "ISO currency code of the line; one other than the contract's "
           "keeps the contract from renewing (currency_mismatch)"),
        _f("subscription_type", PL, "subscription type (CPQ SBQQ__SubscriptionType__c); the "
           "value values.subscription_type.evergreen marks an evergreen line, and a contract "
           "with one is evergreen"),
    ),
    Concept.RENEWAL_OPPORTUNITY: (
        _f("name", S, "opportunity name", required=True, written=True),
        _f("account", ID, "the account", required=True, written=True,
           references=Concept.ACCOUNT),
        _f("owner", ID, "opportunity owner (User Id)", written=True),
        _f("stage", PL, "stage name", required=True, written=True),
        _f("close_date", D, "expected close date", required=True, written=True),
        _f("amount", N, "renewal amount, the total of the renewal term; not written where "
           "Salesforce rolls it up from the line items (Opportunity.Amount)", written=True,
           money=True),
        _f("prior_arr", N, "annual value (ARR) of the renewed lines at their prior prices",
           written=True, money=True),
        _f("renewal_arr", N, "annual value (ARR) of the renewal lines in their first year",
           written=True, money=True),
        _f("uplift_amount", N, "renewal ARR minus prior ARR", written=True, money=True),
        _f("term_months", INT, "renewal term in months (a part month counts as one)",
           written=True),
        _f("type", PL, "opportunity type (e.g. Renewal)", written=True),
        _f("forecast_category", PL, "forecast category", written=True),
        _f("price_book", ID, "price book of the line items", written=True),
        _f("currency", S, "ISO currency code", written=True),
        _f("explanation", S, "the rep's talk track: last term and this renewal (total and "
           "annual), the uplift and why, dates, term changes, approvals (about 1,500 "
           "characters at most)", written=True, long_text=True),
        _f("derivation", S, "the full derivation for admins: co-term policy comparison, "
           "proration fractions, uplift formula, every line, risk and task", written=True,
           long_text=True),
        _f("next_step", S, "the next open cadence step, with its due date and assignee "
           "(Opportunity.NextStep, 255 characters)", written=True),
        _f("risk_level", PL, "Low / Medium / High", written=True),
        _f("risk_score", INT, "risk score 0-100", written=True),
        _f("risk_reasons", S, "risk reason codes, by points", written=True, long_text=True),
        _f("coterm_group", S, "co-term group key", written=True),
        _f("run_id", S, "the run that last wrote the opportunity", written=True),
        _f("needs_approval", B, "the renewal departs from the contract (e.g. a co-term "
           "changes a term) and needs approval; for an approval process or list view",
           written=True),
        _f("approval_reason", S, "why the renewal needs approval, in plain words (empty: "
           "none)", written=True, long_text=True),
        _f("overdue", B, "lapsed: the contract ended and the renewal is not signed yet "
           "(it stays open, see rules.lapse); for a list view or report", written=True),
        _f("days_overdue", INT, "days since the contract ended, unsigned (0: not lapsed)",
           written=True),
        _f("renewed_contract", ID, "the (anchor) contract being renewed", written=True,
           references=Concept.CONTRACT),
        _f("is_closed", B, "closed (won or lost): open sfrenew tasks get closed"),
        _f("loss_reason", PL, "why a lost renewal was lost (reps pick it): churn by reason "
           "in the analytics (docs/analytics.md)"),
        _f("outcome", S, "where the renewal stands for the analytics: open, lapsed (open past "
           "the contract end), renewed (closed won) or churned (closed lost)", written=True),
        _f("expansion_arr", N, "closed won: ARR added by volume (won ARR − prior ARR − uplift, "
           "when positive; docs/analytics.md)", written=True, money=True),
        _f("contraction_arr", N, "closed won: ARR lost by volume (prior ARR + uplift − won "
           "ARR, when positive)", written=True, money=True),
    ),
    Concept.RENEWAL_LINE: (
        _f("opportunity", ID, "the renewal opportunity", required=True, written=True,
           references=Concept.RENEWAL_OPPORTUNITY),
        _f("product", ID, "the product (Product2 Id)", written=True),
        _f("price_book_entry", ID, "price book entry of the product", written=True),
        _f("quantity", N, "quantity", required=True, written=True),
        _f("unit_price", N, "renewal unit price for the line's whole period (UnitPrice: "
           "TotalPrice = Quantity × UnitPrice)", required=True, written=True, money=True),
        _f("annual_unit_price", N, "renewal unit price per year (the first year's)",
           written=True, money=True),
        _f("start_date", D, "first day of the renewed line", written=True),
        _f("end_date", D, "last day of the renewed line", written=True),
        _f("uplift_rate", P, "uplift rate applied", written=True),
        _f("uplift_source", S, "where the rate came from", written=True),
        _f("uplift_bound", S, "the bound that fired (cap, floor, risk), if any", written=True),
        _f("proration_method", S, "proration method used", written=True),
        _f("proration_fraction", N, "proration fraction of a year", written=True),
        _f("explanation", S, "why this line has this price", written=True, long_text=True),
        _f("source_line", S, "Id of the contract line renewed", written=True),
    ),
    Concept.TASK: (
        _f("subject", S, "task subject", required=True, written=True),
        _f("due_date", D, "due date", required=True, written=True),
        _f("status", PL, "task status", required=True, written=True),
        _f("priority", PL, "task priority", written=True),
        _f("owner", ID, "assignee (User Id)", written=True),
        _f("what", ID, "the renewal opportunity the task is about", required=True,
           written=True, references=Concept.RENEWAL_OPPORTUNITY),
        _f("description", S, "task description", written=True, long_text=True),
        _f("is_closed", B, "closed: sfrenew leaves closed tasks alone"),
    ),
    Concept.CASES: (
        _f("account", ID, "the account", required=True, references=Concept.ACCOUNT),
        _f("severity", PL, "severity or priority", required=True),
        _f("status", PL, "case status"),
        _f("is_closed", B, "closed"),
        _f("created", D, "date opened", required=True),
    ),
    Concept.ACTIVITIES: (
        _f("account", ID, "the account", required=True, references=Concept.ACCOUNT),
        _f("date", D, "activity date", required=True),
        _f("status", PL, "activity status"),
        _f("is_closed", B, "completed"),
    ),
    Concept.CONTACTS: (
        _f("account", ID, "the account", required=True, references=Concept.ACCOUNT),
        _f("champion", B, "is the customer's champion", required=True),
        _f("left", B, "has left the company", required=True),
    ),
    Concept.USAGE: (
        _f("account", ID, "the account", required=True, references=Concept.ACCOUNT),
        _f("period", D, "first day of the measured period", required=True),
        _f("value", N, "usage in the period", required=True),
    ),
    Concept.USER: (
        _f("name", S, "the user's name, for routing reports and task descriptions"),
        _f("active", B, "active user (inactive owners fall back to the account owner)"),
        _f("manager", ID, "the user's manager (User Id), for renewal_manager: owner_manager",
           references=Concept.USER),
    ),
    Concept.PRICE_BOOK_ENTRY: (
        _f("price_book", ID, "the entry's price book (Pricebook2 Id)", required=True),
        _f("product", ID, "the entry's product (Product2 Id)", required=True),
        _f("currency", S, "ISO currency code of the entry (multi-currency orgs: "
           "CurrencyIsoCode); unmapped, any entry of the product matches"),
        _f("unit_price", N, "the list price for the product's default subscription term "
           "(12 months: read as annual)", required=True),
        _f("active", B, "active entry (an inactive one is not used; unmapped: active)"),
    ),
    Concept.CURRENCY_RATE: (
        _f("iso_code", S, "ISO currency code (CurrencyType.IsoCode)", required=True),
        _f("rate", N, "units of this currency per one unit of the corporate currency "
           "(CurrencyType.ConversionRate): what the analytics convert with", required=True),
        _f("decimals", INT, "the currency's decimal places"),
        _f("active", B, "active currency (unmapped: active)"),
        _f("corporate", B, "the corporate currency: the analytics' default reporting "
           "currency"),
    ),
    Concept.DATED_CURRENCY_RATE: (
        _f("iso_code", S, "ISO currency code (DatedConversionRate.IsoCode)", required=True),
        _f("rate", N, "units of this currency per one unit of the corporate currency from "
           "start_date until next_start_date (advanced currency management)", required=True),
        _f("start_date", D, "first day the rate is in force", required=True),
        _f("next_start_date", D, "first day of the next rate (empty: in force from then on)"),
    ),
    Concept.RENEWAL_METRIC: (
        _f("metric", S, "the figure: atr, renewed_arr, churn_arr, contraction_arr, uplift_arr, "
           "expansion_arr, grr, nrr, grr_ex_escalators, nrr_ex_escalators, on_time_rate",
           required=True, written=True),
        _f("period", S, "the cohort period (contract end dates): 2027-03 or 2027-Q1",
           required=True, written=True),
        _f("period_start", D, "the period's first day", written=True),
        _f("dimension", S, "what the row is split by: all, segment, region, owner, risk_level",
           required=True, written=True),
        _f("dimension_value", S, "the segment, region, owner (User Id) or risk level; all for "
           "the whole book", required=True, written=True),
        _f("currency", S, "ISO code of the amounts: the reporting currency, or the original "
           "currency of the renewals counted", required=True, written=True, length=3),
        _f("value", N, "the figure: an amount, or a rate as a fraction (0.9512 is 95.12%)",
           required=True, written=True, digits=(18, 4)),
        _f("numerator", N, "a rate's numerator (an amount's own value)", written=True,
           digits=(18, 2)),
        _f("denominator", N, "a rate's denominator (empty for amounts)", written=True,
           digits=(18, 2)),
        _f("computed_on", D, "the day the figure was last computed", written=True),
        _f("run_id", S, "the run that last wrote the row", written=True),
    ),
    Concept.FORECAST_SNAPSHOT: (
        _f("snapshot_date", D, "the Monday of the week the snapshot was taken", required=True,
           written=True),
        _f("period", S, "the cohort period forecast", required=True, written=True),
        _f("period_start", D, "the period's first day", written=True),
        _f("category", S, "Commit, Best Case, Pipeline, Omitted, At Risk or Closed",
           required=True, written=True),
        _f("amount", N, "ARR of the category's renewals as they stood", required=True,
           written=True, digits=(18, 2)),
        _f("renewal_count", INT, "how many renewals the amount adds up", written=True,
           digits=(9, 0)),
        _f("currency", S, "ISO code of the amounts (the reporting currency)", required=True,
           written=True, length=3),
        _f("weeks_out", INT, "whole weeks from the snapshot to the period's start (negative "
           "during the period)", written=True, digits=(4, 0)),
        _f("actual_amount", N, "won ARR of the period, once it is over", written=True,
           digits=(18, 2)),
        _f("accuracy", P, "the snapshot's forecast accuracy for the period, once it is over",
           written=True),
        _f("run_id", S, "the run that last wrote the row", written=True),
    ),
}

WRITE_MODES: Mapping[Concept, WriteMode] = {
    Concept.ACCOUNT: WriteMode.UPDATE,
    Concept.CONTRACT: WriteMode.UPDATE,  # only its renewal-opportunity link
    Concept.RENEWAL_OPPORTUNITY: WriteMode.UPSERT,
    Concept.RENEWAL_LINE: WriteMode.UPSERT,
    Concept.TASK: WriteMode.UPSERT,
    Concept.RENEWAL_METRIC: WriteMode.UPSERT,
    Concept.FORECAST_SNAPSHOT: WriteMode.UPSERT,
}

# sfrenew's own records: every field is sfrenew's (a person's edit is overwritten).
OWN_CONCEPTS = frozenset({Concept.RENEWAL_METRIC, Concept.FORECAST_SNAPSHOT})

REQUIRED_CONCEPTS = frozenset({Concept.ACCOUNT, Concept.CONTRACT, Concept.CONTRACT_LINE,
                               Concept.RENEWAL_OPPORTUNITY, Concept.RENEWAL_LINE, Concept.TASK})


def write_mode(concept: Concept) -> WriteMode:
    """How sfrenew writes this concept (READ for risk sources and contract lines)."""
    return WRITE_MODES.get(concept, WriteMode.READ)


def concept_fields(concept: Concept) -> Mapping[str, ConceptField]:
    """The fields of a concept, by name, in catalogue order (read-only)."""
    return _BY_NAME[concept]


# Built once: the run asks for these for every field of every record it reads.
_BY_NAME: Mapping[Concept, Mapping[str, ConceptField]] = {
    c: MappingProxyType({f.name: f for f in fields}) for c, fields in _CATALOGUE.items()}


# The account's user lookups (owner, renewal_rep, ...): what rules.owners may name as
# ``account_field:<name>`` and what the plan reads of each account for the owner rules.
ACCOUNT_USER_FIELDS = frozenset(
    name for name, f in _BY_NAME[Concept.ACCOUNT].items() if f.coercion is Coercion.ID)
