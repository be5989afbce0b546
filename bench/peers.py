"""Two renewal scripts a team might write instead of sfrenew: the peers of bench_peers.

    python -m bench.peers naive|rewrite CONFIG

Both are stateless scripts on the unmodified simple-salesforce client, and both
compute what the org should hold with sfrenew's own code, imported, not copied: the
mapping's SELECT lists (``pulled_objects``), the record translation
(``account_records``), the rules and the desired records (``Planner.plan_one``). So
they write what sfrenew would write; only how they read and write differs:

* **naive**: one REST call per record. Lists each object's Ids (a query, 2,000 per
  page), reads every record with its own query by Id, then creates or updates each
  desired record with its own sObject call.
* **rewrite** (full rewrite): one Bulk API 2.0 query job per object, then every desired
  record written every run, one Bulk ingest job per object and operation (insert
  for new records, update for the rest: a renewal line's opportunity and price book
  entry cannot change after create, as in Salesforce).

Neither keeps state between runs, so neither can tell a person's edit from its own
write: both overwrite every field they compute, every time. Prints one JSON line:
records written and wall time (API calls are counted by the org, see bench_peers).
"""

from __future__ import annotations

import csv
import io
import json
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import requests
from simple_salesforce.api import Salesforce

from sfrenew.clock import utc_now
from sfrenew.config import load_config
from sfrenew.core.changeset import DesiredRecord, Ownership
from sfrenew.mapping import MappingFile
from sfrenew.mapping.coerce import FieldShape, shapes_from_describe
from sfrenew.mapping.objects import pulled_objects
from sfrenew.mapping.translate import ownership_lookup
from sfrenew.plan.build import plan_objects
from sfrenew.plan.planner import Planner, PlanScope
from sfrenew.plan.records import account_records
from sfrenew.pull.incremental import pull
from sfrenew.runner import RunRequest, Step
from sfrenew.runner._wiring import effective_policy
from sfrenew.salesforce.auth import LocalConnection
from sfrenew.salesforce.port import GatewayPort, ReadSpec
from sfrenew.salesforce.soql import format_soql, select
from sfrenew.salesforce.values import lookup, typed
from sfrenew.store import open_store

API_VERSION = "59.0"


class Org:
    """simple-salesforce on the local org of a config, with describes cached."""

    def __init__(self, data_dir: Path) -> None:
        info = LocalConnection.read(data_dir)
        http = requests.Session()
        http.verify = str(info.ca_file)
        http.trust_env = False  # REQUESTS_CA_BUNDLE would override verify otherwise
        self.sf = Salesforce(instance_url=info.instance_url, session_id=_token(http, info),
                             session=http, version=API_VERSION)
        self._describes: dict[str, dict[str, Any]] = {}

    def describe(self, sobject: str) -> dict[str, Any]:
        if sobject not in self._describes:
            self._describes[sobject] = dict(getattr(self.sf, sobject).describe())
        return self._describes[sobject]

    def field_types(self, sobject: str, fields: Sequence[str]) -> dict[str, str]:
        types: dict[str, str] = {}
        for name in fields:
            *hops, leaf = name.split(".")
            target = sobject
            for hop in hops:
                target = next(str(f["referenceTo"][0]) for f in self.describe(target)["fields"]
                              if (f.get("relationshipName") or "").lower() == hop.lower())
            types[name] = next(str(f["type"]) for f in self.describe(target)["fields"]
                               if f["name"].lower() == leaf.lower())
        return types


def _token(http: requests.Session, info: LocalConnection) -> str:
    """A session by the connected app's client credentials, as a script would log in."""
    answer = http.post(f"{info.instance_url}/services/oauth2/token", data={
        "grant_type": "client_credentials", "client_id": info.client_id,
        "client_secret": info.client_secret.reveal()}, timeout=60)
    answer.raise_for_status()
    return str(answer.json()["access_token"])


class _EachInTurn:
    """``read_many`` as a script does it: each object read in turn by ``read``."""

    def read(self, sobject: str, fields: Sequence[str], where: str | None = None, *,
             include_deleted: bool = False, expected_rows: int | None = None,
             ) -> Iterator[dict[str, Any]]:
        raise NotImplementedError

    def read_many(self, specs: Sequence[ReadSpec]) -> Iterator[Iterator[dict[str, Any]]]:
        """Per spec, in order, its records (each read only when the pull gets to it)."""
        for spec in specs:
            yield self.read(spec.sobject, spec.fields, spec.where)


class NaiveReader(_EachInTurn):
    """``read`` for sfrenew's pull: the Ids by query, then one query call per record."""

    def __init__(self, org: Org) -> None:
        self.org = org

    def read(self, sobject: str, fields: Sequence[str], where: str | None = None, *,
             include_deleted: bool = False,  # noqa: ARG002 -- the peers read live records
             expected_rows: int | None = None,  # noqa: ARG002 -- no COUNT() here
             ) -> Iterator[dict[str, Any]]:
        types = self.org.field_types(sobject, fields)
        ids = [r["Id"] for r in self.org.sf.query_all_iter(select(sobject, ["Id"], where))]
        for sf_id in ids:
            soql = format_soql(select(sobject, fields) + " WHERE Id = {}", sf_id)
            for record in self.org.sf.query(soql)["records"]:
                yield {f: typed(lookup(record, f), types[f]) for f in fields}


class BulkReader(_EachInTurn):
    """``read`` for sfrenew's pull: one Bulk API 2.0 query job per object."""

    def __init__(self, org: Org) -> None:
        self.org = org

    def read(self, sobject: str, fields: Sequence[str], where: str | None = None, *,
             include_deleted: bool = False,  # noqa: ARG002 -- the peers read live records
             expected_rows: int | None = None,  # noqa: ARG002 -- Bulk whatever the size
             ) -> Iterator[dict[str, Any]]:
        types = self.org.field_types(sobject, fields)
        bulk = getattr(self.org.sf.bulk2, sobject)
        for page in bulk.query(select(sobject, fields, where), max_records=200_000, wait=1):
            for row in csv.DictReader(io.StringIO(str(page))):
                yield {f: typed(row.get(f), types[f]) for f in fields}


def desired(org: Org, reader: NaiveReader | BulkReader, mapping: MappingFile, config: Any,
            ) -> tuple[list[DesiredRecord], dict[tuple[str, str], str], dict[str, int]]:
    """Read the org into a throw-away mirror and run sfrenew's planner over it: every
    record the rules want, the Ids of the keyed records the org already holds, and the
    rows read per object."""
    shapes: dict[tuple[str, str], FieldShape] = {}
    objects = {o.sobject for o in pulled_objects(mapping)} | {
        s.object for s in (mapping.renewal_opportunity, mapping.renewal_line, mapping.task)}
    for sobject in sorted(objects):
        shapes.update(shapes_from_describe(sobject, org.describe(sobject)))
    now = utc_now()
    out: list[DesiredRecord] = []
    existing: dict[tuple[str, str], str] = {}
    with tempfile.TemporaryDirectory(prefix="peer-") as tmp, \
            open_store(f"sqlite:///{tmp}/mirror.sqlite3") as store:
        read = pull(gateway=cast(GatewayPort, reader), store=store, mapping=mapping,
                    upper=now, overlap=now - now, run_id="peer").pulled
        policy = effective_policy(config, RunRequest(job="peer", steps=(Step.PLAN,)))
        planner = Planner(store=store, mapping=mapping, policy=policy, today=now.date(),
                          shapes=shapes, scope=PlanScope(), out=None)
        contract_obj = mapping.contract.object
        for group in store.iter_groups(plan_objects(mapping)):
            records = account_records(mapping, group, shapes)
            pending = planner.plan_one(records)
            if pending is None:
                continue
            existing.update({k: c.sf_id for k, c in records.current.items()})
            # As the plan does: a contract is linked to its renewal only as the org holds it.
            out += [w for w in pending.desired
                    if w.object != contract_obj or w.key in records.contract_current]
    return out, existing, read


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


class Writes:
    """The desired records as creates and updates, parents before children."""

    def __init__(self, mapping: MappingFile, records: list[DesiredRecord],
                 existing: Mapping[tuple[str, str], str]) -> None:
        self.keys = {s.object: s.key_field for s in (mapping.renewal_opportunity,
                                                      mapping.renewal_line, mapping.task)}
        self.own = ownership_lookup(mapping)
        self.ids = dict(existing)
        parents = {r.object for w in records for r in w.refs.values()}
        self.waves = [[w for w in records if w.object in parents],
                      [w for w in records if w.object not in parents]]

    def body(self, want: DesiredRecord) -> tuple[str | None, dict[str, Any]]:
        """(Id to update, or None to create; the fields to send)."""
        key_field = self.keys.get(want.object)
        sf_id = self.ids.get((want.object, want.key)) if key_field else want.key
        fields = {name: _json(v) for name, v in want.fields.items()}
        for name, ref in want.refs.items():
            fields[name] = self.ids.get((ref.object, ref.key))
        if sf_id is not None:  # what Salesforce does not let change after create
            fields = {n: v for n, v in fields.items()
                      if self.own(want.object, n) is not Ownership.CREATE_ONLY}
        elif key_field:
            fields[key_field] = want.key
        return sf_id, fields


def write_naive(org: Org, writes: Writes) -> dict[str, int]:
    """One sObject call per record; records written per object."""
    n: dict[str, int] = {}
    for wave in writes.waves:
        for want in wave:
            sf_id, fields = writes.body(want)
            api = getattr(org.sf, want.object)
            if sf_id is None:
                writes.ids[(want.object, want.key)] = str(api.create(fields)["id"])
            else:
                api.update(sf_id, fields)
            n[want.object] = n.get(want.object, 0) + 1
    return n


def write_bulk(org: Org, writes: Writes) -> dict[str, int]:
    """One Bulk ingest job per object and operation, every record every run; records
    written per object."""
    n: dict[str, int] = {}
    for wave in writes.waves:
        by_job: dict[tuple[str, str], list[tuple[DesiredRecord, dict[str, Any]]]] = {}
        for want in wave:
            sf_id, fields = writes.body(want)
            if sf_id is not None:
                fields = {"Id": sf_id, **fields}
            by_job.setdefault((want.object, "insert" if sf_id is None else "update"),
                              []).append((want, fields))
        for (sobject, operation), rows in sorted(by_job.items()):
            n[sobject] = n.get(sobject, 0) + _ingest(org, writes, sobject, operation, rows)
    return n


def _ingest(org: Org, writes: Writes, sobject: str, operation: str,
            rows: list[tuple[DesiredRecord, dict[str, Any]]]) -> int:
    columns = sorted({c for _, fields in rows for c in fields})
    out = io.StringIO()
    table = csv.writer(out, lineterminator="\n")
    table.writerow(columns)
    for _, fields in rows:
        table.writerow(["" if fields.get(c) is None else _csv(fields[c]) for c in columns])
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
        f.write(out.getvalue())
    bulk = getattr(org.sf.bulk2, sobject)
    try:
        results = getattr(bulk, operation)(csv_file=f.name, wait=1)
    finally:
        Path(f.name).unlink()
    key_field = writes.keys.get(sobject)
    if operation == "insert" and key_field:
        for result in results:
            text = bulk.get_successful_records(result["job_id"])
            for row in csv.DictReader(io.StringIO(text)):
                writes.ids[(sobject, row[key_field])] = row["sf__Id"]
    return sum(int(r.get("numberRecordsProcessed", 0)) - int(r.get("numberRecordsFailed", 0))
               for r in results)


def _csv(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def main() -> None:
    """Run one peer once; print its JSON line."""
    kind, config_path = sys.argv[1], Path(sys.argv[2])
    config = load_config(config_path)
    data_dir = Path(config.salesforce.local_data_dir)
    t = time.monotonic()
    org = Org(data_dir)
    reader: NaiveReader | BulkReader = NaiveReader(org) if kind == "naive" else BulkReader(org)
    records, existing, read = desired(org, reader, config.mapping, config)
    writes = Writes(config.mapping, records, existing)
    written = write_naive(org, writes) if kind == "naive" else write_bulk(org, writes)
    print(json.dumps({"peer": kind, "read": read, "written": written,
                      "wall_s": time.monotonic() - t}))


if __name__ == "__main__":
    main()
