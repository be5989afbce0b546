"""The run's commands: plan (table, JSON, saved), apply of a saved plan (stale records
skipped), runs and runs show."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from sfrenew.cli import main
from sfrenew.salesforce import format_soql
from tests.integration.test_run_support import ROOT, Book, book, dump

pytestmark = pytest.mark.integration
__all__ = ["book"]


def _config_file(b: Book) -> Path:
    document = yaml.safe_load((ROOT / "config.example.yaml").read_text(encoding="utf-8"))
    document.update(state_dir=str(b.config.state_dir), mappings=str(b.config.mapping_path),
                    store={"url": b.config.store_url}, run={"pull_overlap_seconds": 0})
    document["salesforce"] = {"target": "local", "local_data_dir": str(b.base / "org")}
    path = b.base / "config.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def test_plan_then_apply_the_saved_plan_skipping_stale_records(book: Book) -> None:
    cli = CliRunner()
    config = str(_config_file(book))
    assert book.run().status == "succeeded"
    # The rules now want to rename two accounts' renewals.
    org = dump(book)
    first, second = sorted(org["Opportunity"])[:2]
    gateway = book.gateway()
    accounts = [org["Opportunity"][k]["AccountId"] for k in (first, second)]
    assert all(r.success for r in gateway.write("update", "Account", [
        {"Id": a, "Name": f"Renamed {i}"} for i, a in enumerate(accounts)]))

    saved = book.base / "plan.json"
    shown = cli.invoke(main, ["plan", "--config", config, "--out", str(saved)])
    assert shown.exit_code == 4, shown.output  # done; the seed's bad contracts are reported
    assert "Changes by object" in shown.output
    as_json = cli.invoke(main, ["plan", "--config", config, "--format", "json"])
    assert as_json.exit_code == 4, as_json.output
    document = json.loads(as_json.stdout)
    assert document["format"] == "sfrenew-plan"
    assert document["counts"]["Opportunity"]["update"] >= 2
    assert dump(book) == org | {"Account": dump(book)["Account"]}  # plan wrote nothing

    # Someone edits one of the opportunities after the plan was made: it is stale.
    stale_id = next(gateway.read("Opportunity", ["Id"],
                                 format_soql("Sfrenew_Key__c = {}", first)))["Id"]
    assert gateway.write("update", "Opportunity", [{"Id": stale_id,
                                                    "NextStep": "call"}])[0].success
    applied = cli.invoke(main, ["apply", str(saved), "--config", config, "--json"])
    assert applied.exit_code == 0, applied.output  # a saved plan applied: nothing dirty here
    outcome = json.loads(applied.stdout)
    assert outcome["status"] == "succeeded"
    assert ["Opportunity", first] in outcome["stats"]["summary"]["stale"]
    after = dump(book)
    assert after["Opportunity"][first]["Name"] == org["Opportunity"][first]["Name"]
    assert after["Opportunity"][second]["Name"].startswith("Renamed 1")

    listed = cli.invoke(main, ["runs", "--config", config, "--json"])
    runs = json.loads(listed.stdout)
    assert [r["kind"] for r in runs][:3] == ["apply", "plan", "plan"]
    shown_run = cli.invoke(main, ["runs", "--config", config, "show", outcome["run_id"],
                                  "--json"])
    detail = json.loads(shown_run.stdout)
    assert detail["written"]["Opportunity"]["updated"] >= 1
    assert detail["written"]["Opportunity"]["skipped"] == 1
    assert detail["api_calls"]
    table = cli.invoke(main, ["runs", "--config", config])
    assert outcome["run_id"] in table.stdout


def test_a_bad_config_stops_before_anything_runs(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("salesforce: {target: local}\nrun: {write_chunk_size: 0}\nmappings: x\n",
                    encoding="utf-8")
    result = CliRunner().invoke(main, ["plan", "--config", str(path)])
    assert result.exit_code == 2  # usage or configuration (the old code exited 1)
    assert f"{path}:2:" in result.output
    assert f"{path}:3:" in result.output
