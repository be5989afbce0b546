"""Queries five to a /composite call: subresponses classified like answers, transient
ones retried as a whole request, with the calls counted."""

from __future__ import annotations

from typing import Any

import pytest
import responses

from sfrenew.salesforce import CallKind, ConfigurationError, TransientError
from sfrenew.salesforce.port import ReadSpec
from tests.contract.salesforce.conftest import API, GatewayFactory, describe, field

ACCOUNT = describe("Account", [field("Id", "id"), field("Name", "string")])
SPECS = [ReadSpec("Account", ("Id", "Name"), f"Name = 'a{i}'", expected_rows=0)
         for i in range(2)]


def _page(name: str) -> dict[str, Any]:
    return {"totalSize": 1, "done": True,
            "records": [{"attributes": {"type": "Account"}, "Id": f"001{name}", "Name": name}]}


def _answer(*subresponses: tuple[int, Any]) -> dict[str, Any]:
    return {"compositeResponse": [{"body": body, "httpHeaders": {}, "httpStatusCode": status,
                                   "referenceId": f"q{i}"}
                                  for i, (status, body) in enumerate(subresponses)]}


UNAVAILABLE = [{"errorCode": "SERVER_UNAVAILABLE", "message": "try later"}]


def test_a_transient_subrequest_sends_the_request_again(rsps: responses.RequestsMock,
                                                        make_gateway: GatewayFactory) -> None:
    gateway = make_gateway(attempts=3)
    rsps.get(f"{API}/sobjects/Account/describe", json=ACCOUNT)
    composite = f"{API}/composite"
    rsps.post(composite, json=_answer((200, _page("a0")), (503, UNAVAILABLE)))
    rsps.post(composite, json=_answer((200, _page("a0")), (200, _page("a1"))))

    rows = [list(r) for r in gateway.read_many(SPECS)]

    assert rows == [[{"Id": "001a0", "Name": "a0"}], [{"Id": "001a1", "Name": "a1"}]]
    assert gateway.calls.get(CallKind.COMPOSITE) == 2
    sent = [c.request for c in rsps.calls if c.request.url == composite]
    assert len(sent) == 2
    assert b"queryAll" not in (sent[0].body or b"")  # plain queries: no deleted rows asked


def test_a_subrequest_failing_every_attempt_is_transient(rsps: responses.RequestsMock,
                                                         make_gateway: GatewayFactory) -> None:
    gateway = make_gateway(attempts=2)
    rsps.get(f"{API}/sobjects/Account/describe", json=ACCOUNT)
    for _ in range(2):
        rsps.post(f"{API}/composite", json=_answer((503, UNAVAILABLE), (200, _page("a1"))))
    with pytest.raises(TransientError, match="SERVER_UNAVAILABLE"):
        next(gateway.read_many(SPECS))
    assert gateway.calls.get(CallKind.COMPOSITE) == 2


def test_a_bad_query_inside_is_a_configuration_error_sent_once(
        rsps: responses.RequestsMock, make_gateway: GatewayFactory) -> None:
    gateway = make_gateway(attempts=3)
    rsps.get(f"{API}/sobjects/Account/describe", json=ACCOUNT)
    rsps.post(f"{API}/composite", json=_answer(
        (200, _page("a0")), (400, [{"errorCode": "INVALID_FIELD", "message": "No such column"}])))
    with pytest.raises(ConfigurationError, match="INVALID_FIELD"):
        next(gateway.read_many(SPECS))
    assert gateway.calls.get(CallKind.COMPOSITE) == 1
