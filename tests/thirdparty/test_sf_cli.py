"""The Salesforce CLI's ``sf data`` commands (npm @salesforce/cli, unmodified) on the local org.

The CLI logs in with ``sf org login access-token`` (a token from the org), then runs
every ``sf data`` command in one ordered pass (each CLI start takes about two
seconds, so the pass is shared); one test per command checks its outcome. The
commands that start a Bulk job without waiting feed the ``resume`` commands and
``sf data bulk results``. ``sf data resume`` (Bulk API 1.0) is not in the list: the
org does not serve Bulk 1.0.
"""

from __future__ import annotations

import csv
import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sfrenew.localorg.app import LocalOrg
from tests.thirdparty.conftest import NODE_MODULES, node_env, require_install

pytestmark = pytest.mark.integration

ALIAS = "localorg"
TAG = "SfCli"


@dataclass
class Outcome:
    """What one command did: its parsed ``--json`` answer and its exit code."""

    command: str
    code: int
    body: dict[str, Any]

    @property
    def result(self) -> Any:
        return self.body.get("result")


class Cli:
    """Runs ``sf`` with the suite's environment in a scratch folder."""

    def __init__(self, org: LocalOrg, work: Path) -> None:
        self.work = work
        self.env = {**node_env(org, work / "home"), "SF_ACCESS_TOKEN": org.issue_session()}
        (work / "home").mkdir(parents=True, exist_ok=True)

    def run(self, *args: str) -> Outcome:
        done = subprocess.run([str(NODE_MODULES / ".bin" / "sf"), *args, "--json"],
                              cwd=self.work, env=self.env, capture_output=True, text=True,
                              timeout=180, check=False)
        try:
            body = json.loads(done.stdout)
        except json.JSONDecodeError:
            body = {"stdout": done.stdout[-2000:], "stderr": done.stderr[-2000:]}
        return Outcome(" ".join(args[:3]), done.returncode, body)

    def write(self, name: str, text: str) -> str:
        path = self.work / name
        path.write_text(text, encoding="utf-8")
        return str(path)


def _job_id(outcome: Outcome) -> str:
    result = outcome.result or {}
    return str(result.get("jobId") or (result.get("jobInfo") or {}).get("id") or "")


def _pass(cli: Cli, org: LocalOrg) -> dict[str, Outcome]:
    """Every command once, in an order where each one has what it needs."""
    out: dict[str, Outcome] = {}
    o = ("-o", ALIAS)
    out["org login access-token"] = cli.run("org", "login", "access-token", "--instance-url",
                                            org.instance_url, "--no-prompt", "--alias", ALIAS)
    out["data create record"] = cli.run("data", "create", "record", *o, "-s", "Account", "-v",
                                        f"Name='{TAG} Record' Rating=Hot ShippingCity=Lyon")
    record_id = str((out["data create record"].result or {}).get("id", ""))
    out["data get record"] = cli.run("data", "get", "record", *o, "-s", "Account", "-i",
                                     record_id)
    out["data update record"] = cli.run("data", "update", "record", *o, "-s", "Account", "-i",
                                        record_id, "-v", "Rating=Cold")
    out["data query"] = cli.run(
        "data", "query", *o, "-q", "SELECT Id, Name, Rating, Owner.Name, (SELECT LastName "
        f"FROM Contacts) FROM Account WHERE Name LIKE '{TAG}%'")
    out["data search"] = cli.run("data", "search", *o, "-q",
                                 f"FIND {{{TAG} Record}} IN NAME FIELDS RETURNING "
                                 "Account(Id, Name)")
    out["data delete record"] = cli.run("data", "delete", "record", *o, "-s", "Account", "-i",
                                        record_id)
    accounts = cli.write("accounts.csv", f"Name,Rating\n{TAG} Bulk 1,Hot\n{TAG} Bulk 2,Warm\n")
    out["data import bulk"] = cli.run("data", "import", "bulk", *o, "-s", "Account", "-f",
                                      accounts, "--wait", "5")
    out["data export bulk"] = cli.run("data", "export", "bulk", *o, "-q",
                                      f"SELECT Id, Name FROM Account WHERE Name LIKE '{TAG} Bulk%'",
                                      "--output-file", str(cli.work / "export.csv"),
                                      "--wait", "5")
    exported = _read_csv(cli.work / "export.csv")
    ids = [row["Id"] for row in exported]
    updates = cli.write("updates.csv", "Id,Rating\n" + "".join(f"{i},Cold\n" for i in ids))
    out["data update bulk"] = cli.run("data", "update", "bulk", *o, "-s", "Account", "-f",
                                      updates, "--wait", "5")
    out["data upsert bulk"] = cli.run("data", "upsert", "bulk", *o, "-s", "Account", "-f",
                                      updates, "-i", "Id", "--wait", "5")
    deletes = cli.write("deletes.csv", "Id\n" + "".join(f"{i}\n" for i in ids))
    out["data delete bulk"] = cli.run("data", "delete", "bulk", *o, "-s", "Account", "-f",
                                      deletes, "--wait", "5")
    # Jobs started without waiting, then resumed; they run concurrently, so the ones
    # that change records get records of their own (made and listed by helper calls).
    cli.run("data", "import", "bulk", *o, "-s", "Account", "-f", cli.write(
        "async.csv", "Name\n" + "".join(f"{TAG} Async {n}\n" for n in range(4))), "--wait", "5")
    cli.run("data", "export", "bulk", *o, "-q", f"SELECT Id FROM Account WHERE Name LIKE "
            f"'{TAG} Async%' ORDER BY Name", "--output-file", str(cli.work / "async-ids.csv"),
            "--wait", "5")
    async_ids = [row["Id"] for row in _read_csv(cli.work / "async-ids.csv")]
    changes = cli.write("async-updates.csv",
                        "Id,Rating\n" + "".join(f"{i},Warm\n" for i in async_ids[:2]))
    removals = cli.write("async-deletes.csv", "Id\n" + "".join(f"{i}\n" for i in async_ids[2:]))
    started = {
        "import": cli.run("data", "import", "bulk", *o, "-s", "Account", "-f", accounts),
        "update": cli.run("data", "update", "bulk", *o, "-s", "Account", "-f", changes),
        "upsert": cli.run("data", "upsert", "bulk", *o, "-s", "Account", "-f", changes,
                          "-i", "Id"),
        "delete": cli.run("data", "delete", "bulk", *o, "-s", "Account", "-f", removals),
        "export": cli.run("data", "export", "bulk", *o, "-q", "SELECT Id FROM Account LIMIT 5",
                          "--output-file", str(cli.work / "export-async.csv")),
    }
    for verb in ("import", "update", "upsert", "delete"):
        out[f"data {verb} resume"] = cli.run("data", verb, "resume", "-i",
                                             _job_id(started[verb]), "--wait", "5")
    out["data export resume"] = cli.run("data", "export", "resume", "-i",
                                        _job_id(started["export"]))
    out["data bulk results"] = cli.run("data", "bulk", "results", *o, "-i",
                                       _job_id(started["import"]))
    # Trees: export an account with its contacts, import the plan back.
    tree = cli.run("data", "create", "record", *o, "-s", "Account", "-v", f"Name='{TAG} Tree'")
    parent = str((tree.result or {}).get("id", ""))
    cli.run("data", "create", "record", *o, "-s", "Contact", "-v",
            f"LastName=Leaf AccountId={parent}")
    out["data export tree"] = cli.run(
        "data", "export", "tree", *o, "-q", "SELECT Id, Name, (SELECT LastName FROM Contacts) "
        f"FROM Account WHERE Id = '{parent}'", "-d", str(cli.work / "tree"), "--plan")
    plan = next((cli.work / "tree").glob("*plan.json"), None) if (cli.work / "tree").is_dir() \
        else None
    out["data import tree"] = cli.run("data", "import", "tree", *o, "-p", str(plan or "missing"))
    out["data create file"] = cli.run("data", "create", "file", *o, "-f",
                                      cli.write("note.txt", "a file for the local org\n"),
                                      "-i", parent)
    return out


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def outcomes(thirdparty_org: LocalOrg, tmp_path_factory: pytest.TempPathFactory
             ) -> dict[str, Outcome]:
    require_install()
    return _pass(Cli(thirdparty_org, tmp_path_factory.mktemp("sf-cli")), thirdparty_org)


def _ok(outcome: Outcome) -> None:
    assert outcome.code == 0, json.dumps(outcome.body)[:3000]
    assert outcome.body.get("status") == 0, json.dumps(outcome.body)[:3000]


def _bulk_done(expected: int) -> Callable[[Outcome], None]:
    def check(outcome: Outcome) -> None:
        _ok(outcome)
        result = outcome.result
        info = result.get("jobInfo", result)
        processed = info.get("processedRecords", info.get("numberRecordsProcessed"))
        failed = info.get("failedRecords", info.get("numberRecordsFailed"))
        assert (processed, failed) == (expected, 0), json.dumps(result)[:2000]
    return check


def _query(outcome: Outcome) -> None:
    _ok(outcome)
    [record] = outcome.result["records"]
    assert record["Rating"] == "Cold"
    assert record["Owner"]["Name"]


def _search(outcome: Outcome) -> None:
    _ok(outcome)
    assert [r["Name"] for r in outcome.result["searchRecords"]] == [f"{TAG} Record"]


def _export(outcome: Outcome) -> None:
    _ok(outcome)
    assert outcome.result["totalSize"] == 2


def _import_tree(outcome: Outcome) -> None:
    _ok(outcome)
    assert sorted(r["type"] for r in outcome.result) == ["Account", "Contact"]


def _login(outcome: Outcome) -> None:
    _ok(outcome)
    assert outcome.result["orgId"].startswith("00D")


EXPECTATIONS: dict[str, Callable[[Outcome], None]] = {
    "org login access-token": _login,
    "data create record": _ok,
    "data get record": _ok,
    "data update record": _ok,
    "data query": _query,
    "data search": _search,
    "data delete record": _ok,
    "data import bulk": _bulk_done(2),
    "data export bulk": _export,
    "data update bulk": _bulk_done(2),
    "data upsert bulk": _bulk_done(2),
    "data delete bulk": _bulk_done(2),
    "data import resume": _bulk_done(2),
    "data update resume": _bulk_done(2),
    "data upsert resume": _bulk_done(2),
    "data delete resume": _bulk_done(2),
    "data export resume": _ok,
    "data bulk results": _ok,
    "data export tree": _ok,
    "data import tree": _import_tree,
    "data create file": _ok,
}


# Commands that fail for a reason docs/localorg.md explains (strict: a fix must remove them).
KNOWN_FAILURES: dict[str, str] = {}


@pytest.mark.parametrize("command", [
    pytest.param(name, marks=[pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[name])]
                 if name in KNOWN_FAILURES else [])
    for name in EXPECTATIONS])
def test_sf(outcomes: dict[str, Outcome], command: str) -> None:
    EXPECTATIONS[command](outcomes[command])
