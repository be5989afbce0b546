"""Composite ``@{ref.path}`` references."""

from __future__ import annotations

from typing import Any

import pytest

from sfrenew.localorg.rest_composite import _Unresolved, resolve_references

RESULTS: dict[str, Any] = {
    "NewAccount": {"id": "001A", "success": True, "errors": []},
    "Query": {"totalSize": 1, "done": True, "records": [{"Id": "003B", "Amount": 5}]},
}


@pytest.mark.parametrize(("value", "resolved"), [
    ("@{NewAccount.id}", "001A"),
    ("/sobjects/Account/@{NewAccount.id}", "/sobjects/Account/001A"),
    ("@{Query.records[0].Id}", "003B"),
    ("@{Query.records[0].Amount}", 5),
    ({"AccountId": "@{NewAccount.id}", "n": [1, "@{Query.totalSize}"]},
     {"AccountId": "001A", "n": [1, 1]}),
    ("no reference", "no reference"),
    (None, None),
])
def test_references_resolve(value: Any, resolved: Any) -> None:
    assert resolve_references(value, RESULTS) == resolved


@pytest.mark.parametrize("value", ["@{Missing.id}", "@{NewAccount.nope}",
                                   "@{Query.records[3].Id}", "@{Query.records}",
                                   "@{NewAccount}"])
def test_unresolvable_references(value: str) -> None:
    with pytest.raises(_Unresolved):
        resolve_references(value, RESULTS)
