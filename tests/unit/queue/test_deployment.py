"""load_deployment: several orgs, one queue, every mistake located at file:line:col."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sfrenew.queue import load_deployment
from sfrenew.queue.tasks import account_ranges
from sfrenew.yamlsource import YamlSourceError

ROOT = Path(__file__).resolve().parents[3]
PG = "postgresql+psycopg://sfrenew@db:5432/sfrenew"


def _org(tmp_path: Path, name: str, body: str) -> Path:
    shutil.copytree(ROOT / "mappings", tmp_path / "mappings", dirs_exist_ok=True)
    shutil.copytree(ROOT / "jobs", tmp_path / "jobs", dirs_exist_ok=True)
    path = tmp_path / f"{name}.yaml"
    path.write_text("salesforce: {target: local}\n" + body, encoding="utf-8")
    return path


def test_two_orgs_share_one_queue_with_their_own_stores(tmp_path: Path) -> None:
    acme = _org(tmp_path, "acme", f"store: {{url: '{PG}?options=-csearch_path%3Dacme'}}\n"
                                  f"queue: {{org: acme, url: '{PG}'}}\n")
    globex = _org(tmp_path, "globex", f"store: {{url: '{PG}?options=-csearch_path%3Dglobex'}}\n"
                                      f"queue: {{org: globex, url: '{PG}', concurrency: 4}}\n")
    deployment = load_deployment([acme, globex])
    assert sorted(deployment.orgs) == ["acme", "globex"]
    assert deployment.queue_url == PG
    assert deployment.org("globex").config.queue.concurrency == 4
    assert deployment.org("acme").job("renewals") is not None


def test_every_mistake_is_reported_with_its_place(tmp_path: Path) -> None:
    acme = _org(tmp_path, "acme", f"store: {{url: '{PG}'}}\nqueue: {{org: acme}}\n")
    twin = _org(tmp_path, "twin", f"store: {{url: '{PG}'}}\n"
                                  "queue:\n  org: acme\n")
    other = _org(tmp_path, "other", "queue:\n  org: other\n  url: "
                                    "postgresql+psycopg://x@elsewhere/q\n")
    with pytest.raises(YamlSourceError) as caught:
        load_deployment([acme, twin, other])
    text = str(caught.value)
    assert f"{twin}:4:3: queue.org: org 'acme' is also the org of {acme}" in text
    assert f"{other}:1:1: store.url: the job queue and its workers need a PostgreSQL" in text
    assert "every org of a deployment uses one queue" in text


def test_an_org_name_must_be_a_plain_name(tmp_path: Path) -> None:
    bad = _org(tmp_path, "bad", f"store: {{url: '{PG}'}}\nqueue: {{org: 'Acme Corp'}}\n")
    with pytest.raises(YamlSourceError) as caught:
        load_deployment([bad])
    assert "queue.org" in str(caught.value)


def test_accounts_split_into_sorted_ranges() -> None:
    assert account_ranges(["003", "001", "002", "001", "005"], 2) == \
        [["001", "002"], ["003", "005"]]
    assert account_ranges([], 3) == []
