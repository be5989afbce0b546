"""What period a mapped line price covers, and its conversion to sfrenew's annual price.

The rules read a contract line's price per unit per year (``ContractLine.annual_price``).
Orgs do not all store that: Salesforce CPQ's subscription Net Price covers the
subscription's whole term, and its Prorate Multiplier says how many default
subscription terms (12 months unless the product says otherwise) that term is. A
mapping declares each price field's basis (``unit_price: {field: SBQQ__NetPrice__c,
basis: term}``) and the translation divides by the multiplier, so the rules never see
a term price. Worked example: a 36-month subscription of 10 units at 1,200 a year is
stored by CPQ as Net Price 3,600.00 with Prorate Multiplier 3; 3,600 / 3 = 1,200 a year.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

ONE = Decimal(1)

# Contract-line concept fields a basis may be declared on (money per unit).
PRICED_FIELDS = ("unit_price", "list_price")
MULTIPLIER_FIELD = "prorate_multiplier"


class PriceBasis(StrEnum):
    """The period a mapped price covers."""

    ANNUAL = "annual"  # per unit per year (standard OpportunityLineItem.UnitPrice here)
    TERM = "term"  # per unit for the line's whole term: divided by the prorate multiplier


class BasisError(ValueError):
    """A multiplier that cannot convert a term price (zero or negative)."""


def annual_price(price: Decimal | None, *, basis: PriceBasis,
                 multiplier: Decimal | None) -> Decimal | None:
    """``price`` as a price per unit per year.

    ``multiplier`` is the line's prorate multiplier (default subscription terms in
    its term); empty counts as 1, one default term, as CPQ treats a blank term as
    its default. A term price divided by a multiplier of 0 or less has no meaning:
    BasisError, so the translation reports the record and reads the price as empty.
    """
    if price is None or basis is PriceBasis.ANNUAL:
        return price
    if multiplier is None:
        return price
    if multiplier <= 0:
        raise BasisError(f"prorate multiplier {multiplier} must be above zero to turn a "
                         "term price into an annual one")
    return price if multiplier == ONE else price / multiplier
