"""Planning only what changed, the store's part: mirror change markers, plan states, meta."""

from __future__ import annotations

import pytest

from sfrenew.store import MirrorRow, PlanMeta, PlanState, StateStore


def _row(sf_id: str, group: str | None) -> MirrorRow:
    return MirrorRow(sf_id, {"Id": sf_id}, group_key=group,
                     system_modstamp="2026-11-24T07:15:00.000+0000")


def _state(group: str, marker: int, replan_on: str | None = None) -> PlanState:
    return PlanState(group_key=group, marker=marker, replan_on=replan_on,
                     entry={"account_id": group, "line": f"{group}\n"})


def test_each_mirror_write_takes_the_next_version(store: StateStore) -> None:
    assert store.mirror_version() == 0
    store.upsert_mirror("Contract", [_row("800A", "001A"), _row("800B", "001B")])
    assert store.mirror_version() == 1
    store.mark_deleted("Contract", ["800B"])
    assert store.mirror_version() == 2
    store.purge_deleted()
    assert store.mirror_version() == 3
    assert store.ungrouped_version() == 0
    store.upsert_mirror("User", [_row("005A", None)])
    assert store.ungrouped_version() == 4


def test_changed_accounts_are_planned_again_and_the_others_replayed(store: StateStore) -> None:
    store.upsert_mirror("Contract", [_row("800A", "001A"), _row("800B", "001B"),
                                     _row("800C", "001C")])
    seen = store.mirror_version()
    store.save_plan_states([_state("001A", seen), _state("001B", seen),
                            _state("001C", seen, replan_on="2026-03-12")])
    assert store.replan_groups("2026-03-10") == []
    assert store.replan_groups("2026-03-12") == ["001C"]  # its day has come
    store.upsert_mirror("Contract", [_row("800B", "001B")])
    assert store.replan_groups("2026-03-10") == ["001B"]
    store.save_plan_states([_state("001B", store.mirror_version())])
    assert store.replan_groups("2026-03-10") == []


def test_a_record_that_moves_changes_both_accounts(store: StateStore) -> None:
    store.upsert_mirror("Contract", [_row("800A", "001A"), _row("800B", "001B")])
    seen = store.mirror_version()
    store.save_plan_states([_state("001A", seen), _state("001B", seen)])
    store.upsert_mirror("Contract", [_row("800A", "001B")])  # moved to another account
    assert store.replan_groups("2026-03-10") == ["001A", "001B"]


def test_deletes_and_purges_change_their_account(store: StateStore) -> None:
    store.upsert_mirror("Contract", [_row("800A", "001A"), _row("800B", "001B")])
    store.save_plan_states([_state("001A", store.mirror_version()),
                            _state("001B", store.mirror_version())])
    store.mark_deleted("Contract", ["800A"])
    assert store.replan_groups("2026-03-10") == ["001A"]
    store.save_plan_states([_state("001A", store.mirror_version())])
    store.purge_deleted("Contract")  # the tombstone is how a person's deletion is told
    assert store.replan_groups("2026-03-10") == ["001A"]


def test_accounts_without_a_state_are_planned(store: StateStore) -> None:
    store.upsert_mirror("Contract", [_row("800A", "001A"), _row("800B", "001B")])
    store.save_plan_states([_state("001A", store.mirror_version())])
    assert store.replan_groups("2026-03-10") == ["001B"]


def test_states_stream_in_account_order_and_are_dropped_and_cleared(store: StateStore) -> None:
    store.save_plan_states([_state(f"001{i:03d}", 1) for i in (5, 1, 3, 2, 4)])
    assert [s.group_key for s in store.iter_plan_states(batch=2)] == [
        "001001", "001002", "001003", "001004", "001005"]
    store.save_plan_states([_state("001009", 2)], drop=["001001", "001004"])
    states = list(store.iter_plan_states())
    assert [s.group_key for s in states] == ["001002", "001003", "001005", "001009"]
    # a span's states (planning in processes): those after an account
    assert [s.group_key for s in store.iter_plan_states(batch=2, after_group="001002")] == [
        "001003", "001005", "001009"]
    assert states[-1] == _state("001009", 2)
    store.clear_plan_states()
    assert list(store.iter_plan_states()) == []


def test_plan_meta_is_saved_and_forgotten(store: StateStore) -> None:
    assert store.plan_meta() is None
    store.set_plan_meta(PlanMeta(fingerprint="abc", marker=7, today="2026-03-10"))
    assert store.plan_meta() == PlanMeta(fingerprint="abc", marker=7, today="2026-03-10")
    store.set_plan_meta(PlanMeta(fingerprint="def", marker=8, today="2026-03-11"))
    assert store.plan_meta() == PlanMeta(fingerprint="def", marker=8, today="2026-03-11")
    store.set_plan_meta(None)
    assert store.plan_meta() is None


@pytest.mark.parametrize("batch", [1, 2, 100])
def test_groups_of_some_accounts_come_in_order(store: StateStore, batch: int) -> None:
    store.upsert_mirror("Contract", [_row("800A", "001A"), _row("800B", "001B"),
                                     _row("800C", "001C"), _row("800D", "001A")])
    store.upsert_mirror("Opportunity", [_row("006A", "001C")])
    store.mark_deleted("Contract", ["800C"])
    got = list(store.iter_groups_of(["Contract", "Opportunity"], ["001A", "001C", "001Z"],
                                    batch=batch))
    assert [(g.group_key, {o: [r.sf_id for r in rs] for o, rs in g.records.items()})
            for g in got] == [("001A", {"Contract": ["800A", "800D"]}),
                              ("001C", {"Opportunity": ["006A"]})]
