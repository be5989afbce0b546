"""Dirty contracts get a per-record report, through the local org, on both presets.

Each of these was renewed or dropped without a word before issue 16:

* a contract whose end date is before its start date (renewed as a 12-month renewal);
* a EUR contract whose lines are in USD (renewed in USD, explanation saying EUR);
* a contract whose account was deleted (vanished from the plan);
* two tasks carrying one sfrenew key (never reported).

Now each is skipped (or its copy left alone) and listed with its Id and a sentence
saying what to fix, in the plan file, the run's report and ``runs show``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from sfrenew.cli import main
from sfrenew.plan import iter_accounts
from tests.clock import today
from tests.integration.test_run_people import Org, org  # noqa: F401 (the fixture)
from tests.integration.test_run_support import ROOT, dump

pytestmark = pytest.mark.integration


def _dirty(outcome: Any) -> dict[str, tuple[str, str]]:
    plan = outcome.stats["plan"]
    assert plan["dirty"] == len(plan["dirty_records"])
    return {e["record_id"]: (e["reason"], e["detail"]) for e in plan["dirty_records"]}


def _skips(outcome: Any) -> dict[str, tuple[str, str]]:
    return {s["contract_id"]: (s["reason"], s["detail"])
            for a in iter_accounts(Path(outcome.stats["plan_file"])) for s in a.skipped}


def test_dirty_contracts_are_reported_by_id_with_what_to_fix(org: Org) -> None:  # noqa: F811
    clean, backwards = org.account("Clean Co"), org.account("Backwards Co")
    euro, gone = org.account("Euro Co"), org.account("Gone Co")
    org.contract("clean", clean, ends_in=40)
    org.contract("backwards", backwards, ends_in=40)
    org.contract("euro", euro, ends_in=40)
    org.contract("orphan", gone, ends_in=40)
    gw = org.book.gateway()
    end = today() + timedelta(days=40)
    start = end + timedelta(days=30)  # typed the wrong way round
    assert gw.write("update", "Contract", [
        {"Id": org.ids["backwards"], "StartDate": start.isoformat(),
         "EndDate": end.isoformat()},
        {"Id": org.ids["euro"], "CurrencyIsoCode": "EUR"}])[0].success
    assert gw.write("delete", "Account", [{"Id": gone}])[0].success

    outcome = org.book.run()
    assert outcome.status == "succeeded", outcome.message
    opps = {o["AccountId"] for o in dump(org.book)["Opportunity"].values()}
    assert opps == {clean}  # only the clean contract renews

    skips, dirty = _skips(outcome), _dirty(outcome)
    for name, reason, words in (
            ("backwards", "end_before_start",
             f"end date {end.isoformat()} is before its start date {start.isoformat()}"),
            ("euro", "currency_mismatch", "is in EUR but line"),
            ("orphan", "account_deleted", f"its account {gone} was deleted")):
        cid = org.ids[name]
        assert skips[cid][0] == dirty[cid][0] == reason
        assert words in dirty[cid][1], dirty[cid][1]

    runner = CliRunner()
    shown = runner.invoke(main, ["runs", "--config", str(_config_file(org)), "show",
                                 outcome.run_id])
    assert shown.exit_code == 0, shown.output
    assert f"{org.ids['euro']} currency_mismatch" in shown.output
    assert f"{org.ids['orphan']} account_deleted" in shown.output


def test_a_duplicate_task_key_is_reported_and_the_copy_left_alone(org: Org) -> None:  # noqa: F811
    acct = org.account("Copied Task Co")
    org.contract("copied", acct, ends_in=100)
    first = org.book.run()
    assert first.status == "succeeded", first.message
    gw = org.book.gateway()
    tasks = sorted(gw.read("Task", ["Id", "Sfrenew_Key__c", "Subject", "WhatId", "ActivityDate"],
                           "Sfrenew_Key__c != null"), key=lambda t: str(t["Id"]))
    original = tasks[0]
    copy = gw.write("insert", "Task", [{
        "Subject": original["Subject"], "WhatId": original["WhatId"],
        "ActivityDate": original["ActivityDate"], "Sfrenew_Key__c": original["Sfrenew_Key__c"]}])
    assert copy[0].success
    second = org.book.run()
    assert second.status == "succeeded", second.message
    dirty = _dirty(second)
    reason, detail = dirty[str(copy[0].id)]
    assert reason == "bad_task"
    assert f"duplicate task key {original['Sfrenew_Key__c']!r}" in detail
    assert str(original["Id"]) in detail
    assert second.stats["written"] == {}  # neither task is touched


def _config_file(o: Org) -> Path:
    """A config file for the CLI pointing at the test's org and state."""
    b = o.book
    document = yaml.safe_load((ROOT / "config.example.yaml").read_text(encoding="utf-8"))
    document.update(state_dir=str(b.config.state_dir), mappings=str(b.config.mapping_path),
                    store={"url": b.config.store_url})
    document["salesforce"] = {"target": "local", "local_data_dir": str(b.base / "org")}
    path = b.base / "config.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path
