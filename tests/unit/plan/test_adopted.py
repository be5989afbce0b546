"""The ledger's evidence of adoptions, looked up once for a batch of accounts."""

from pathlib import Path
from typing import Any

from sfrenew.core.domain import Account, ExistingRenewal
from sfrenew.mapping import load_mapping
from sfrenew.plan.adopted import Adoptions, adopted_ids, adoption_evidence, with_adoptions
from sfrenew.plan.records import AccountRecords

MAPPING = load_mapping(Path(__file__).parents[3] / "mappings" / "standard.yaml").model
OPP, CONTRACT = MAPPING.renewal_opportunity.object, MAPPING.contract.object
LINK = MAPPING.contract.fields["renewal_opportunity"].field


class Ledger:
    """The two ledger look-ups adoption needs, counted."""

    def __init__(self, written: set[str], links: dict[str, str]) -> None:
        self.written, self.links, self.calls = written, links, 0

    def find_by_keys(self, obj: str, keys: list[str]) -> dict[str, str]:
        self.calls += 1
        assert obj == OPP
        return {k: k for k in keys if k in self.written}

    def last_written(self, obj: str, keys: list[str]) -> dict[tuple[str, str], Any]:
        self.calls += 1
        assert obj == CONTRACT
        return {(k, LINK): self.links[k] for k in keys if k in self.links}


def _account(n: int, *renewals: ExistingRenewal) -> AccountRecords:
    return AccountRecords(account=Account(f"001{n:015d}", f"Customer {n}"),
                          existing_renewals=list(renewals))


def _person(opp: str, *contracts: str, closed: bool = False,
            ours: bool = False) -> ExistingRenewal:
    return ExistingRenewal(opportunity_id=opp, contract_ids=contracts,
                           created_by_sfrenew=ours, stage="Open", is_closed=closed)


def test_one_lookup_each_for_a_batch_and_each_account_proven_by_its_own() -> None:
    a = _account(1, _person("006A", "800A"), _person("006A2", "800A2"))
    # B's contract 800B was last linked by sfrenew to A's opportunity (the contract moved
    # accounts since): that proves nothing about B's own opportunity, nor A's.
    b = _account(2, _person("006B", "800B"))
    c = _account(3, _person("006C", "800C", closed=True), _person("006D", ours=True))
    ledger = Ledger(written={"006A2", "006C"}, links={"800A": "006A", "800B": "006A2"})
    evidence = adoption_evidence(ledger, MAPPING, [a, b, c])  # type: ignore[arg-type]
    assert ledger.calls == 2
    assert evidence.written == {"006A2"}  # 006C is closed: never asked about
    assert [adopted_ids(r, evidence) for r in (a, b, c)] == [{"006A", "006A2"}, set(), set()]
    marked = with_adoptions(a, evidence)
    assert [r.adopted for r in marked.existing_renewals] == [True, True]


def test_no_lookup_when_no_account_has_a_linked_open_opportunity_of_a_person() -> None:
    ledger = Ledger(written=set(), links={})
    none = [_account(1), _account(2, _person("006C", "800C", closed=True)),
            _account(3, _person("006D", "800D", ours=True)), _account(4, _person("006E"))]
    assert adoption_evidence(ledger, MAPPING, none) == Adoptions()  # type: ignore[arg-type]
    assert ledger.calls == 0
