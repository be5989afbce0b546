"""Every command exits by the one table, and `status` and `apply --resume` tell the truth.

Table (sfrenew.cli._ops_common): 0 done, 1 failed, 2 usage or configuration, 3 stopped
and resumable, 4 done with rejected or skipped records. Each test names what the code
before issue 16 did.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
import yaml
from click.testing import CliRunner

from sfrenew.cli import main
from sfrenew.cli._ops_common import (
    EXIT_CODES,
    EXIT_CONFIG,
    EXIT_DIRTY,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_RESUMABLE,
)
from sfrenew.store import RunStatus, open_store
from tests.integration.test_run_cli import _config_file
from tests.integration.test_run_support import ROOT, Book, book

pytestmark = pytest.mark.integration
__all__ = ["book"]


def _json(result: object) -> dict[str, object]:
    out = json.loads(getattr(result, "stdout"))  # noqa: B009 (click's Result)
    assert isinstance(out, dict)
    return out


def test_apply_json_exits_3_when_stopped_and_resume_finishes(book: Book) -> None:
    cli = CliRunner()
    config = str(_config_file(book))
    stopped = cli.invoke(main, ["apply", "--config", config, "--max-api-calls", "5", "--json"])
    assert stopped.exit_code == EXIT_RESUMABLE, stopped.output  # was 0
    outcome = _json(stopped)
    assert outcome["status"] == "stopped"
    assert outcome["exit_code"] == EXIT_RESUMABLE
    assert f"sfrenew apply --resume {outcome['run_id']}" in str(outcome["message"])

    # Without --json too: a resumable stop is 3, as on backfill (was 1).
    again = cli.invoke(main, ["apply", "--config", config, "--resume", str(outcome["run_id"]),
                              "--max-api-calls", "3"])
    assert again.exit_code == EXIT_RESUMABLE, again.output

    done = cli.invoke(main, ["apply", "--config", config, "--resume", str(outcome["run_id"]),
                             "--json"])
    # done; the seeded book holds deliberately bad contracts, skipped and reported: 4
    assert done.exit_code == EXIT_DIRTY, done.output
    assert _json(done)["status"] == "succeeded"


def test_resume_refuses_a_plan_run_and_does_not_offer_it(book: Book) -> None:
    cli = CliRunner()
    config = str(_config_file(book))
    planned = cli.invoke(main, ["plan", "--config", config, "--format", "json"])
    assert planned.exit_code == EXIT_DIRTY, planned.output  # the seed's bad contracts
    with open_store(book.config.store_url) as store:
        (plan_run,) = store.list_runs(1)
    refused = cli.invoke(main, ["apply", "--config", config, "--resume", plan_run.run_id])
    assert refused.exit_code == EXIT_CONFIG, refused.output  # the old code resumed and wrote
    assert (f"cannot resume {plan_run.run_id}: it is a plan run; a plan writes nothing, so "
            "there is nothing to resume") in refused.output
    with open_store(book.config.store_url) as store:
        assert [r.run_id for r in store.list_runs(5)] == [plan_run.run_id]  # nothing ran
    assert book.gateway().count("Opportunity", "Sfrenew_Key__c != null") == 0

    # A plan stopped by its budget is not offered a resume.
    from sfrenew.clock import utc_now  # noqa: PLC0415
    from sfrenew.runner import RunRequest, Step, execute  # noqa: PLC0415
    stopped = execute(book.config, RunRequest(job="plan", steps=(Step.PULL, Step.PLAN),
                                              dry_run=True, kind="plan", max_api_calls=3),
                      clock=utc_now)
    assert stopped.status == "stopped"
    assert "--resume" not in stopped.message
    assert "a plan writes nothing" in stopped.message


def test_resume_refuses_another_config_and_says_what_differs(book: Book) -> None:
    cli = CliRunner()
    path = _config_file(book)
    stopped = cli.invoke(main, ["apply", "--config", str(path), "--max-api-calls", "5",
                                "--json"])
    run_id = str(_json(stopped)["run_id"])
    original = path.read_text(encoding="utf-8")
    document = yaml.safe_load(original)
    document["run"]["write_chunk_size"] = 7
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    refused = cli.invoke(main, ["apply", "--config", str(path), "--resume", run_id])
    assert refused.exit_code == EXIT_CONFIG, refused.output  # the old code resumed
    assert (f"cannot resume {run_id} with this configuration: the config file "
            f"{path.resolve()} was changed since the run started") in refused.output
    with open_store(book.config.store_url) as store:
        assert store.get_run(run_id).status is RunStatus.STOPPED  # untouched

    path.write_text(original, encoding="utf-8")
    resumed = cli.invoke(main, ["apply", "--config", str(path), "--resume", run_id, "--json"])
    assert resumed.exit_code == EXIT_DIRTY, resumed.output  # the seed's bad contracts


@pytest.mark.parametrize("command", [["plan"], ["apply"], ["runs"], ["runs", "show", "r-1"],
                                     ["rollback", "r-1"], ["status", "--no-org"],
                                     ["backfill", "--from", "2027-01-01", "--to", "2027-02-01"],
                                     ["jobs", "list"]])
def test_the_same_bad_config_exits_2_on_every_command(tmp_path: Path,
                                                      command: list[str]) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("salesforce: {target: local}\nbogus: 1\n", encoding="utf-8")
    at = 2 if command[0] == "runs" and len(command) > 1 else len(command)
    args = [*command[:at], "--config", str(path), *command[at:]] if command[0] != "runs" \
        else ["runs", "--config", str(path), *command[1:]]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == EXIT_CONFIG, result.output  # plan, apply, runs, rollback: 1
    assert f"{path}:2:1: bogus: unknown section" in result.output


def test_every_help_ends_with_the_exit_code_table() -> None:
    def walk(command: object, path: list[str]) -> list[list[str]]:
        subs = getattr(command, "commands", {})
        return [path, *(p for name, sub in subs.items() for p in walk(sub, [*path, name]))]

    for path in walk(main, []):
        shown = CliRunner().invoke(main, [*path, "--help"])
        assert shown.exit_code == 0
        for code, text in EXIT_CODES:
            assert f"  {code}  {text}" in shown.output, path


def test_the_exit_code_table_in_the_docs_matches_the_code() -> None:
    doc = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    for code, text in EXIT_CODES:
        assert f"| {code} | {text} |" in doc


# --- status ---------------------------------------------------------------------------


def _org_config(tmp_path: Path, salesforce: dict[str, object]) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"salesforce": salesforce, "state_dir": str(tmp_path / "s"),
                                    "mappings": str(ROOT / "mappings" / "standard.yaml")}),
                    encoding="utf-8")
    return path


def _status(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["status", "--config", str(path)])
    return result.exit_code, result.output


def test_status_exits_1_when_the_secret_variable_is_unset(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SFRENEW_TEST_UNSET_SECRET", raising=False)
    path = _org_config(tmp_path, {"target": "org", "auth": "client_credentials",
                                  "consumer_key": "ck", "my_domain_url": "https://127.0.0.1:9",
                                  "consumer_secret_env": "SFRENEW_TEST_UNSET_SECRET"})
    code, output = _status(path)
    assert code == EXIT_FAILED, output  # was 0
    assert ("org: cannot be used: the secret is not set: environment variable "
            "SFRENEW_TEST_UNSET_SECRET is empty or unset (salesforce.consumer_secret_env)"
            in " ".join(output.split()))


def test_status_exits_1_when_the_org_refuses_connections(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import socket  # noqa: PLC0415

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("SFRENEW_TEST_TOKEN", "00Dxx!token")
    path = _org_config(tmp_path, {"target": "org", "auth": "access_token",
                                  "instance_url": f"https://127.0.0.1:{port}",
                                  "access_token_env": "SFRENEW_TEST_TOKEN"})
    code, output = _status(path)
    assert code == EXIT_FAILED, output  # was 0, after about 17 s of retries
    assert f"cannot reach https://127.0.0.1:{port}: connection refused" in \
        " ".join(output.split())


def test_status_exits_2_when_the_config_points_at_no_local_org(tmp_path: Path) -> None:
    path = _org_config(tmp_path, {"target": "local", "local_data_dir": str(tmp_path / "none")})
    code, output = _status(path)
    assert code == EXIT_CONFIG, output  # was 0
    assert "connection.json" in output


def test_status_names_a_rejected_token_and_a_spent_allocation(
        book: Book, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    info = book.org.connection_info
    # The org's certificate is trusted as an admin would trust it (a CA bundle).
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(info["ca_file"]))
    monkeypatch.setenv("SFRENEW_TEST_TOKEN", "00Dxx!not-a-session")
    path = _org_config(tmp_path / "token", {"target": "org", "auth": "access_token",
                                            "instance_url": book.org.instance_url,
                                            "access_token_env": "SFRENEW_TEST_TOKEN"})
    code, output = _status(path)
    assert code == EXIT_FAILED, output  # was 0
    assert "the access token was rejected (invalid or expired)" in " ".join(output.split())

    config = str(_config_file(book))
    healthy = CliRunner().invoke(main, ["status", "--config", config])
    assert healthy.exit_code == EXIT_OK, healthy.output
    assert "daily API allocation:" in healthy.output
    spent = requests.post(f"{book.org.instance_url}/_localorg/allocation",
                          auth=(info["client_id"], info["client_secret"]),
                          json={"daily_api_requests": 10, "licenses": 0, "used": 10},
                          verify=info["ca_file"], timeout=10)
    assert spent.status_code == 200
    result = CliRunner().invoke(main, ["status", "--config", config])
    assert result.exit_code == EXIT_FAILED, result.output  # was 0
    flat = " ".join(result.output.split())
    assert ("org: cannot be used: daily API allocation spent (0 of 10 calls left); the org "
            "refuses API calls until its 24-hour window frees some") in flat
    assert "BudgetExhausted" not in flat, flat
