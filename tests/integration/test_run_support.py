"""Shared helpers for the run's integration tests (no tests here).

Each test gets its own local org in a temporary directory, seeded through the same
generator the demo uses, and a config derived from ``config.example.yaml`` that
points at it. Org dumps leave out what differs between two equal runs (Ids of
created records, system fields, the run id stamp) so runs can be compared.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from sfrenew.config import AppConfig, load_config
from sfrenew.core.planner import plan_account
from sfrenew.localorg.app import LocalOrg
from sfrenew.localorg.schema import OrgSchema, build_schema
from sfrenew.localorg.seed import SeedSummary, seed_book
from sfrenew.mapping import Concept, load_mapping
from sfrenew.mapping.objects import pulled_objects
from sfrenew.mapping.translate import written_fields
from sfrenew.plan.records import account_records
from sfrenew.runner import RunOutcome, RunRequest, Step, execute, open_gateway
from sfrenew.salesforce import Gateway
from sfrenew.store import open_store
from tests.clock import now, today

ROOT = Path(__file__).resolve().parents[2]
ALL_STEPS = (Step.PULL, Step.PLAN, Step.APPLY, Step.REPORT)
SEED = 11
SKIP_FIELDS = {"Id", "SystemModstamp", "Sfrenew_Run_Id__c"}


def schema_with(rules: dict[str, list[dict[str, Any]]]) -> OrgSchema:
    """The shipped schema plus validation rules per object."""
    text = (ROOT / "sfrenew/localorg/data/schema.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    for obj, extra in rules.items():
        data["objects"][obj].setdefault("validation_rules", [])
        data["objects"][obj]["validation_rules"] = [
            *(data["objects"][obj]["validation_rules"] or []), *extra]
    return build_schema(data)


@dataclasses.dataclass
class Book:
    """A seeded local org and a config pointing at it."""

    org: LocalOrg
    config: AppConfig
    seed: SeedSummary
    base: Path

    def run(self, **request: Any) -> RunOutcome:
        """One run of the main job (or what ``request`` says)."""
        fields: dict[str, Any] = {"job": "main", "steps": ALL_STEPS, **request}
        return execute(self.config, RunRequest(**fields), clock=now)

    def gateway(self) -> Gateway:
        """A gateway on the org, for checks and for a person's edits."""
        return open_gateway(self.config)


def make_config(base: Path, org_dir: Path, *, mapping: str = "mappings/standard.yaml",
                **run: Any) -> AppConfig:
    """config.example.yaml pointed at ``org_dir``, state under ``base``; overlap 0."""
    config = load_config(ROOT / "config.example.yaml")
    state = base / "state"
    return dataclasses.replace(
        config, state_dir=state, store_url=f"sqlite:///{state / 'sfrenew.sqlite3'}",
        mapping_path=ROOT / mapping, mapping=load_mapping(ROOT / mapping).model,
        run=config.run.model_copy(update={"pull_overlap_seconds": 0, **run}),
    ).with_salesforce(local_data_dir=org_dir,
                      retry=config.salesforce.retry.model_copy(
                          update={"initial_wait_seconds": 0.0, "max_wait_seconds": 0.0}))


def open_book(base: Path, *, contracts: int = 150, schema: OrgSchema | None = None,
              mapping: str = "mappings/standard.yaml", **run: Any) -> Book:
    """Start an org under ``base``, seed it, and return it with its config."""
    org = LocalOrg(base / "org", schema=schema)
    org.start()
    summary = seed_book(org.store, contracts=contracts, seed=SEED, today=today())
    return Book(org=org, config=make_config(base, base / "org", mapping=mapping, **run),
                seed=summary, base=base)


@pytest.fixture
def book(tmp_path: Path) -> Iterator[Book]:
    """A seeded book of 150 contracts on its own org."""
    opened = open_book(tmp_path)
    try:
        yield opened
    finally:
        opened.org.stop()


def _select(gateway: Gateway, sobject: str, fields: list[str], where: str) -> list[dict[str, Any]]:
    return list(gateway.read(sobject, sorted({"Id", *fields}), where))


def dump(book: Book) -> dict[str, Any]:
    """What sfrenew wrote to the org, by key, comparable across orgs and runs."""
    m = book.config.mapping
    gateway = book.gateway()
    out: dict[str, Any] = {}
    key = "Sfrenew_Key__c"
    opps = _select(gateway, "Opportunity", [key, *written_fields(m, Concept.RENEWAL_OPPORTUNITY)
                                            .values()], "Sfrenew_Key__c != null")
    opp_key = {o["Id"]: o[key] for o in opps}
    out["Opportunity"] = {o[key]: {k: v for k, v in o.items() if k not in SKIP_FIELDS}
                          for o in opps}
    for obj, concept, parent in (("OpportunityLineItem", Concept.RENEWAL_LINE, "OpportunityId"),
                                 ("Task", Concept.TASK, "WhatId")):
        rows = _select(gateway, obj, [key, *written_fields(m, concept).values()],
                       "Sfrenew_Key__c != null")
        out[obj] = {r[key]: {k: (opp_key.get(v, v) if k == parent else v) for k, v in r.items()
                             if k not in SKIP_FIELDS} for r in rows}
        out[f"{obj} count"] = len(rows)
    accounts = _select(gateway, "Account", ["Sfrenew_Risk_Level__c", "Sfrenew_Risk_Reasons__c"],
                       "Sfrenew_Risk_Level__c != null")
    out["Account"] = {a["Id"]: (a["Sfrenew_Risk_Level__c"], a["Sfrenew_Risk_Reasons__c"])
                      for a in accounts}
    return out


def insert(gateway: Gateway, sobject: str, rows: list[dict[str, Any]]) -> list[str]:
    """Insert ``rows`` as a person would (all must succeed); their Ids."""
    results = gateway.write("insert", sobject, rows)
    assert all(r.success for r in results), [(r.error_code, r.message) for r in results]
    return [str(r.id) for r in results]


class StopWhile:
    """A progress sink that asks the run to stop once ``phase`` has advanced ``after``
    (and remembers each phase's announced total)."""

    def __init__(self, phase: str, after: int, stop: threading.Event) -> None:
        self.phase, self.after, self.stop, self.seen = phase, after, stop, 0
        self.totals: dict[str, int | None] = {}

    def start(self, phase: str, total: int | None) -> None:
        """Remember the phase's total."""
        self.totals[phase] = total

    def advance(self, phase: str, n: int = 1) -> None:
        """Count, and stop past the mark."""
        if phase == self.phase:
            self.seen += n
            if self.seen >= self.after:
                self.stop.set()

    def finish(self, phase: str) -> None:
        """Nothing to do."""


def engine_keys(b: Book, accounts: set[str] | None = None) -> dict[str, set[str]]:
    """The renewal, line and task keys the rules engine plans straight from the mirror,
    for every account (None) or those of ``accounts``."""
    m = b.config.mapping
    keys: dict[str, set[str]] = {"Opportunity": set(), "OpportunityLineItem": set(), "Task": set()}
    with open_store(b.config.store_url) as store:
        for group in store.iter_groups([o.sobject for o in pulled_objects(m)]):
            records = account_records(m, group)
            if records.account is None or (accounts is not None
                                           and records.account.id not in accounts):
                continue
            plan = plan_account(account=records.account, contracts=records.contracts,
                                today=today(), policy=b.config.rules, signals=records.signals,
                                existing_renewals=records.existing_renewals,
                                existing_tasks=records.existing_tasks)
            for renewal in plan.renewals:
                keys["Opportunity"].add(renewal.key)
                keys["OpportunityLineItem"] |= {line.key for line in renewal.lines}
                keys["Task"] |= {task.key for task in renewal.tasks}
    return keys
