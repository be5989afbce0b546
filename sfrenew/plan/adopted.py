"""Which renewals people made sfrenew adopted on an earlier run: the ledger proves it.

An adoption (``sfrenew.core.rules.adoption``) links the contract to the person's
opportunity; on later runs the opportunity is *linked*, like any renewal a person made
and linked by hand, which sfrenew leaves alone. What tells the two apart is the ledger:
sfrenew adopted the opportunity when it wrote its own fields onto it (by Id, the key
the ledger holds for a record sfrenew did not create) or wrote the contract's link to
it. That survives reruns and, being history, a rollback too (a rollback also puts the
contract's link back, so the opportunity is a candidate again and is matched anew).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from sfrenew.core.domain import ExistingRenewal
from sfrenew.mapping import Concept, MappingFile
from sfrenew.mapping.translate import written_fields
from sfrenew.plan.records import AccountRecords
from sfrenew.store.port import StorePort


@dataclass(frozen=True)
class Adoptions:
    """The ledger's evidence of adoptions for a batch of accounts: which of their linked
    opportunities sfrenew wrote by Id, and the contract links sfrenew last wrote."""

    written: frozenset[str] = frozenset()  # opportunity Ids sfrenew wrote its fields on
    links: Mapping[str, str] = field(default_factory=dict)  # contract Id -> opportunity Id


def _linked(records: AccountRecords) -> list[ExistingRenewal]:
    return [r for r in records.existing_renewals
            if not r.created_by_sfrenew and r.contract_ids and not r.is_closed]


def adoption_evidence(store: StorePort, mapping: MappingFile,
                      batch: Iterable[AccountRecords]) -> Adoptions:
    """The evidence for every account of ``batch`` in two ledger look-ups (none when no
    account has an open, linked opportunity a person made)."""
    linked = [r for records in batch for r in _linked(records)]
    if not linked:
        return Adoptions()
    ids = sorted({r.opportunity_id for r in linked})
    written = frozenset(store.find_by_keys(mapping.renewal_opportunity.object, ids))
    link = written_fields(mapping, Concept.CONTRACT).get("renewal_opportunity")
    links: dict[str, str] = {}
    if link is not None:
        contracts = sorted({c for r in linked for c in r.contract_ids})
        for (contract, fname), value in store.last_written(mapping.contract.object,
                                                           contracts).items():
            if fname == link and value is not None:
                links[contract] = str(value)
    return Adoptions(written=written, links=links)


def adopted_ids(records: AccountRecords, evidence: Adoptions) -> set[str]:
    """The Ids of the account's open, linked opportunities people made that sfrenew
    adopted earlier: sfrenew wrote its fields on one, or the account's contract link
    to it (only this account's contracts prove this account's opportunities)."""
    linked = _linked(records)
    ids = {r.opportunity_id for r in linked}
    proven = ids & evidence.written
    for contract in {c for r in linked for c in r.contract_ids}:
        value = evidence.links.get(contract)
        if value in ids:
            proven.add(str(value))
    return proven


def with_adoptions(records: AccountRecords, evidence: Adoptions) -> AccountRecords:
    """``records`` with the renewals sfrenew adopted earlier marked ``adopted``."""
    proven = adopted_ids(records, evidence)
    if proven:
        records.existing_renewals = [
            replace(r, adopted=True) if r.opportunity_id in proven and not r.created_by_sfrenew
            else r for r in records.existing_renewals]
    return records
