"""Route matching, version parsing and the version list."""

from __future__ import annotations

import pytest

from sfrenew.localorg.accounting import CallKind
from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.routes import Call, Router, parse_version, split_path, version_list
from sfrenew.localorg.wire import Response


def _handler(name: str):  # type: ignore[no-untyped-def]
    def handle(call: Call) -> Response:
        return Response.json(200, {"route": name, **call.args})
    return handle


def _router() -> Router:
    router = Router()
    router.add("GET", "sobjects/{type}/describe", _handler("describe"), kind=CallKind.DESCRIBE)
    router.add("GET PATCH", "sobjects/{type}/{id}", _handler("record"), kind=CallKind.SOBJECT)
    return router


def test_literal_segments_win_over_captures() -> None:
    route, args = _router().resolve("GET", ["sobjects", "Account", "describe"])
    assert route.kind is CallKind.DESCRIBE
    assert args == {"type": "Account"}
    route, args = _router().resolve("PATCH", ["sobjects", "Account", "001x"])
    assert route.kind is CallKind.SOBJECT
    assert args == {"type": "Account", "id": "001x"}


def test_wrong_method_is_405_and_unknown_path_404() -> None:
    with pytest.raises(SalesforceApiError) as failure:
        _router().resolve("DELETE", ["sobjects", "Account", "001x"])
    assert failure.value.status == 405
    with pytest.raises(SalesforceApiError) as failure:
        _router().resolve("GET", ["nope"])
    assert failure.value.status == 404
    assert failure.value.errors[0].error_code == "NOT_FOUND"


def test_split_path_decodes_each_segment() -> None:
    assert split_path("/sobjects/Account/Key__c/a%2Fb/") == ["sobjects", "Account", "Key__c",
                                                            "a/b"]
    assert split_path("/") == []


@pytest.mark.parametrize(("text", "version"), [
    ("v50.0", "50.0"), ("v59.0", "59.0"), ("v49.0", None), ("v59.1", None), ("59.0", None),
    ("v999.0", None),
])
def test_parse_version(text: str, version: str | None) -> None:
    assert parse_version(text) == version


def test_version_labels() -> None:
    labels = {v["version"]: v["label"] for v in version_list()}
    assert labels["50.0"] == "Winter '21"
    assert labels["59.0"] == "Winter '24"
    assert labels["61.0"] == "Summer '24"
