"""Routing in the plan: mirrored users read by Id, bad values reported, fallbacks listed."""

from __future__ import annotations

from pathlib import Path

from sfrenew.mapping import load_mapping
from sfrenew.plan.owners import UserDirectory
from sfrenew.store import MirrorRow, open_store

ROOT = Path(__file__).parents[3]
A, M, B, X = "005000000000001AAA", "005000000000002AAA", "005000000000003AAA", \
    "005000000000004AAA"


def test_users_are_read_by_id_with_their_manager_and_bad_values_reported(
        tmp_path: Path) -> None:
    mapping = load_mapping(ROOT / "mappings" / "standard.yaml").model
    with open_store(f"sqlite:///{tmp_path / 's.sqlite3'}") as store:
        store.upsert_mirror("User", [
            MirrorRow(A, {"Id": A, "Name": "Ana", "IsActive": True,
                               "ManagerId": M}),
            MirrorRow(M, {"Id": M, "Name": "Max", "IsActive": True,
                               "ManagerId": None}),
            MirrorRow(B, {"Id": B, "Name": "Ben", "IsActive": "maybe",
                               "ManagerId": None})])
        users = UserDirectory(store, mapping)
        found = users.lookup([A, B, X, None])
        assert found[A].manager_id == M
        assert found[A].active
        assert found[B].active  # unreadable: taken as active, and reported
        assert X not in found  # not mirrored: unknown
        (problem,) = users.take_problems()
        assert (problem.record_id, problem.field) == (B, "IsActive")
        users.lookup([B])
        assert users.take_problems() == []  # reported once
