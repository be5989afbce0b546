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

from dataclasses import replace

from sfrenew.mapping import Concept, MappingFile
from sfrenew.mapping.translate import written_fields
from sfrenew.plan.records import AccountRecords
from sfrenew.store.port import StorePort


def adopted_ids(store: StorePort, mapping: MappingFile, records: AccountRecords) -> set[str]:
    """The Ids of the account's open, linked opportunities people made that sfrenew
    adopted earlier (two ledger look-ups, only for an account that has such)."""
    linked = [r for r in records.existing_renewals
              if not r.created_by_sfrenew and r.contract_ids and not r.is_closed]
    if not linked:
        return set()
    ids = sorted({r.opportunity_id for r in linked})
    proven = set(store.find_by_keys(mapping.renewal_opportunity.object, ids))
    link = written_fields(mapping, Concept.CONTRACT).get("renewal_opportunity")
    if link is not None:
        contracts = sorted({c for r in linked for c in r.contract_ids})
        wanted = set(ids)
        for (_, fname), value in store.last_written(mapping.contract.object,
                                                    contracts).items():
            if fname == link and value in wanted:
                proven.add(str(value))
    return proven


def with_adoptions(store: StorePort, mapping: MappingFile,
                   records: AccountRecords) -> AccountRecords:
    """``records`` with the renewals sfrenew adopted earlier marked ``adopted``."""
    proven = adopted_ids(store, mapping, records)
    if proven:
        records.existing_renewals = [
            replace(r, adopted=True) if r.opportunity_id in proven and not r.created_by_sfrenew
            else r for r in records.existing_renewals]
    return records
