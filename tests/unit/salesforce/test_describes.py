"""Describes kept across runs: used under the same key for less than a day, else fetched."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from sfrenew.config import load_config
from sfrenew.mapping import load_mapping
from sfrenew.runner._wiring import describe_cache
from sfrenew.salesforce.describes import FileDescribeCache
from tests.clock import now

DESCRIBE = {"name": "Contract", "fields": [{"name": "EndDate", "type": "date", "length": 0,
                                            "scale": Decimal("2.5")}]}


def _cache(tmp_path: Path, *, key: str = "k1", later: timedelta = timedelta(0)
           ) -> FileDescribeCache:
    return FileDescribeCache(tmp_path / "describe", key=key, now=now() + later)


def test_a_saved_describe_is_used_under_the_same_key_within_a_day(tmp_path: Path) -> None:
    _cache(tmp_path).put("Contract", DESCRIBE)
    assert _cache(tmp_path).get("Contract") == DESCRIBE
    assert _cache(tmp_path, later=timedelta(hours=23, minutes=59)).get("contract") == DESCRIBE


@pytest.mark.parametrize(("key", "later"), [
    ("k2", timedelta(0)),  # the mapping (or the org's settings) changed
    ("k1", timedelta(days=1)),  # a day old
    ("k1", timedelta(seconds=-1)),  # written "after" now: the clock went back
])
def test_another_key_or_a_day_later_is_a_miss(tmp_path: Path, key: str,
                                             later: timedelta) -> None:
    _cache(tmp_path).put("Contract", DESCRIBE)
    assert _cache(tmp_path, key=key, later=later).get("Contract") is None


@pytest.mark.parametrize("content", [
    b"{not json", b"[]", b'{"version": 2, "key": "k1"}',
    b'{"version": 1, "key": "k1", "fetched_at": "yesterday", "describe": {}}',
    b'{"version": 1, "key": "k1", "fetched_at": "2026-03-10T09:00:00", "describe": {}}',
])
def test_an_unreadable_file_is_a_miss(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "describe").mkdir()
    (tmp_path / "describe" / "contract.json").write_bytes(content)
    assert _cache(tmp_path).get("Contract") is None
    _cache(tmp_path).put("Contract", DESCRIBE)  # and is replaced by the next fetch
    assert _cache(tmp_path).get("Contract") == DESCRIBE
    assert [p.name for p in (tmp_path / "describe").iterdir()] == ["contract.json"]


def test_nothing_saved_is_a_miss(tmp_path: Path) -> None:
    assert _cache(tmp_path).get("Account") is None


def test_the_run_keys_describes_by_its_mapping_and_org_settings(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[3]
    standard = load_config(root / "config.example.yaml")
    cpq = dataclasses.replace(standard, mapping=load_mapping(root / "mappings/cpq.yaml").model)
    other_org = standard.with_salesforce(local_data_dir=tmp_path / "other")
    keys = {describe_cache(c, now=now()).key for c in (standard, cpq, other_org)}
    assert len(keys) == 3
    assert describe_cache(standard, now=now()).key == describe_cache(
        load_config(root / "config.example.yaml"), now=now() + timedelta(hours=1)).key
    assert describe_cache(standard, now=now()).directory == standard.state_dir / "describe"
