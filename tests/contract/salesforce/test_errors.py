"""Every error class from its HTTP status and errorCode, through the real HTTP path."""

from __future__ import annotations

import json

import pytest
import responses

from sfrenew.salesforce import (
    AuthError,
    BudgetExhausted,
    ConfigurationError,
    GatewayError,
    MultipleMatches,
    RecordRejected,
    TransientError,
    UnexpectedResponse,
)
from sfrenew.salesforce.errors import ApiUsage, classify, is_transient_row_error
from sfrenew.salesforce.results import parse_bulk_error
from tests.contract.salesforce.conftest import API, GatewayFactory, calls_to

FULL = "api-usage=100000/100000"
ROOM = "api-usage=5000/100000"

# status, errorCode, Sforce-Limit-Info, expected class, calls sent (attempts = 3)
TABLE: list[tuple[int, str | None, str | None, type[GatewayError], int]] = [
    (500, "UNKNOWN_EXCEPTION", None, TransientError, 3),
    (502, None, None, TransientError, 3),
    (503, "SERVER_UNAVAILABLE", None, TransientError, 3),
    (400, "QUERY_TIMEOUT", None, TransientError, 3),
    (400, "UNABLE_TO_LOCK_ROW", None, TransientError, 3),
    (403, "REQUEST_LIMIT_EXCEEDED", ROOM, TransientError, 3),   # concurrency: allocation left
    (503, "REQUEST_LIMIT_EXCEEDED", None, TransientError, 3),   # concurrency, no header
    (403, "REQUEST_LIMIT_EXCEEDED", FULL, BudgetExhausted, 1),  # daily allocation spent
    (403, "REQUEST_LIMIT_EXCEEDED", None, BudgetExhausted, 1),  # 403 without header: daily
    (401, "INVALID_AUTH_HEADER", None, AuthError, 1),
    (403, "INSUFFICIENT_ACCESS", None, AuthError, 1),
    (400, "INVALID_FIELD", None, ConfigurationError, 1),
    (400, "INVALID_TYPE", None, ConfigurationError, 1),
    (400, "MALFORMED_QUERY", None, ConfigurationError, 1),
    (404, "NOT_FOUND", None, ConfigurationError, 1),
    (400, "INVALIDJOB", None, ConfigurationError, 1),
    (400, "DUPLICATE_VALUE", None, RecordRejected, 1),
    (400, "FIELD_CUSTOM_VALIDATION_EXCEPTION", None, RecordRejected, 1),
    (400, "STRING_TOO_LONG", None, RecordRejected, 1),
    (400, "REQUIRED_FIELD_MISSING", None, RecordRejected, 1),
    (400, "INVALID_CROSS_REFERENCE_KEY", None, RecordRejected, 1),
    (404, "ENTITY_IS_DELETED", None, ConfigurationError, 1),
    (418, None, None, UnexpectedResponse, 1),
]


@pytest.mark.parametrize(("status", "code", "limit_info", "expected", "calls"), TABLE)
def test_error_class_from_status_and_code(
    rsps: responses.RequestsMock, make_gateway: GatewayFactory, status: int, code: str | None,
    limit_info: str | None, expected: type[GatewayError], calls: int,
) -> None:
    gateway = make_gateway(attempts=3)
    body = json.dumps([{"message": "any text at all", "errorCode": code}]) if code else "oops"
    headers = {"Sforce-Limit-Info": limit_info} if limit_info else {}
    rsps.get(f"{API}/sobjects/Account/describe", status=status, body=body, headers=headers)

    with pytest.raises(expected) as raised:
        gateway.describe("Account")

    assert type(raised.value) is expected
    assert calls_to(rsps, "/describe") == calls


def test_multiple_matches_300_lists_the_records() -> None:
    urls = ["/services/data/v62.0/sobjects/Account/001A",
            "/services/data/v62.0/sobjects/Account/001B"]
    error = classify(status=300, body=urls, usage=None)
    assert isinstance(error, MultipleMatches)
    assert error.urls == tuple(urls)


def test_message_text_never_decides() -> None:
    # The same message with different codes gives different classes, and vice versa.
    text = "TotalRequests Limit exceeded."
    assert isinstance(classify(status=400, body=[{"errorCode": "MALFORMED_QUERY",
                                                  "message": text}], usage=None),
                      ConfigurationError)
    concurrent = classify(status=403, body=[{"errorCode": "REQUEST_LIMIT_EXCEEDED",
                                             "message": text}], usage=ApiUsage(10, 100))
    assert isinstance(concurrent, TransientError)


def test_daily_limit_stops_with_budget_error(rsps: responses.RequestsMock,
                                             make_gateway: GatewayFactory) -> None:
    gateway = make_gateway()
    rsps.get(f"{API}/limits", status=403, headers={"Sforce-Limit-Info": FULL},
             json=[{"message": "TotalRequests Limit exceeded.",
                    "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
    with pytest.raises(BudgetExhausted) as raised:
        gateway.limits()
    assert raised.value.daily_remaining == 0
    assert "0 of 100,000 daily calls left" in str(raised.value)


@pytest.mark.parametrize(("code", "transient"), [
    ("UNABLE_TO_LOCK_ROW", True), ("DUPLICATE_VALUE", False), ("STRING_TOO_LONG", False),
    ("REQUIRED_FIELD_MISSING", False), ("ENTITY_IS_DELETED", False), (None, False),
])
def test_row_errors_retriable_only_for_locks(code: str | None, transient: bool) -> None:
    assert is_transient_row_error(code) is transient


@pytest.mark.parametrize(("header", "expected"), [
    ("api-usage=86/100000", ApiUsage(86, 100000)),
    ("api-usage=25/5000; per-app-api-usage=17/250(appName=sample-connected-app)",
     ApiUsage(25, 5000)),
    ("per-app-api-usage=17/250(appName=x)", None),
    (None, None),
    ("garbage", None),
])
def test_limit_info_header(header: str | None, expected: ApiUsage | None) -> None:
    assert ApiUsage.parse(header) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --",
     ("REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]", ("Name",))),
    ("UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--",
     ("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record", ())),
    ("DUPLICATE_VALUE:duplicate value found --", ("DUPLICATE_VALUE", "duplicate value found", ())),
])
def test_bulk_error_column(text: str, expected: tuple[str, str, tuple[str, ...]]) -> None:
    assert parse_bulk_error(text) == expected
