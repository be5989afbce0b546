"""``POST /composite``: up to 25 subrequests in one API call, with references.

A subrequest may use the result of an earlier one through ``@{referenceId.path}``
(``@{NewAccount.id}``, ``@{Query.records[0].Id}``) in its URL or body. Answers
``{"compositeResponse": [{"body", "httpHeaders", "httpStatusCode", "referenceId"}]}``
with HTTP 200 whatever the subrequests did. With ``allOrNone: true`` the first
failure rolls back every write and every other subrequest answers 400
``PROCESSING_HALTED``; otherwise later subrequests still run unless they refer to
a failed one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.ports import StorePort
from sfrenew.localorg.routes import Call
from sfrenew.localorg.sessions import Session
from sfrenew.localorg.wire import Request, Response

MAX_SUBREQUESTS = 25
_REFERENCE = re.compile(r"@\{([^}]*)\}")
_REFERENCE_ID = re.compile(r"^[A-Za-z0-9_]+$")
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_ROLLED_BACK_MESSAGE = ("The transaction was rolled back since another operation in the same "
                        "transaction failed.")

Subrequest = Callable[[Session, Request], Response]


class _Unresolved(Exception):
    def __init__(self, reference: str) -> None:
        super().__init__(reference)
        self.reference = reference


class _RollBack(Exception):
    """Raised inside the composite's transaction to undo it."""


def _halted(message: str) -> dict[str, Any]:
    return {"errorCode": "PROCESSING_HALTED", "message": message}


def _lookup(results: dict[str, Any], reference: str) -> Any:
    ref_id, _, path = reference.partition(".")
    if ref_id not in results or not path:
        raise _Unresolved(reference)
    value = results[ref_id]
    for name, index in _PATH_PART.findall(path):
        try:
            value = value[int(index)] if index else value[name]
        except (KeyError, IndexError, TypeError) as exc:
            raise _Unresolved(reference) from exc
    if value is None or isinstance(value, dict | list):
        raise _Unresolved(reference)
    return value


def resolve_references(value: Any, results: dict[str, Any]) -> Any:
    """``value`` with every ``@{ref.path}`` replaced by what it points to."""
    if isinstance(value, str):
        whole = _REFERENCE.fullmatch(value)
        if whole is not None:
            return _lookup(results, whole.group(1))
        return _REFERENCE.sub(lambda m: str(_lookup(results, m.group(1))), value)
    if isinstance(value, dict):
        return {k: resolve_references(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_references(v, results) for v in value]
    return value


def _validate(body: Any) -> tuple[list[dict[str, Any]], bool]:
    if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
        raise SalesforceApiError.single(400, "JSON_PARSER_ERROR",
                                        "Request body must contain a compositeRequest array")
    items: list[Any] = body["compositeRequest"]
    if not items:
        raise SalesforceApiError.single(400, "INVALID_BATCH_REQUEST",
                                        "The composite request must contain subrequests")
    if len(items) > MAX_SUBREQUESTS:
        raise SalesforceApiError.single(
            400, "LIMIT_EXCEEDED",
            f"Limit Exceeded: composite request contains more than {MAX_SUBREQUESTS} "
            "subrequests")
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, dict):
            raise SalesforceApiError.single(400, "JSON_PARSER_ERROR",
                                            "Each subrequest must be a JSON object")
        for key in ("method", "url", "referenceId"):
            if not isinstance(item.get(key), str) or not item[key]:
                raise SalesforceApiError.single(400, "INVALID_INPUT",
                                                f"Subrequest is missing required field {key}")
        ref = item["referenceId"]
        if not _REFERENCE_ID.match(ref):
            raise SalesforceApiError.single(
                400, "INVALID_INPUT",
                f"The referenceId {ref} is invalid: use only alphanumerics and underscores")
        if ref in seen:
            raise SalesforceApiError.single(400, "INVALID_INPUT",
                                            f"Duplicate ReferenceId provided in the request: {ref}")
        seen.add(ref)
    all_or_none = body.get("allOrNone", False)
    return items, all_or_none is True or str(all_or_none).lower() == "true"


class CompositeResource:
    """Handler for ``POST /composite``."""

    def __init__(self, *, store: StorePort, subrequest: Subrequest) -> None:
        self._store = store
        self._subrequest = subrequest

    def composite(self, call: Call) -> Response:
        """Run the subrequests in order and answer them all."""
        items, all_or_none = _validate(call.request.json())
        if not all_or_none:
            return self._answer(self._run(call, items, halt_on_failure=False)[0])
        answers: list[dict[str, Any]] = []
        failed: set[str] = set()
        try:
            with self._store.transaction():
                answers, failed = self._run(call, items, halt_on_failure=True)
                if failed:
                    raise _RollBack
        except _RollBack:
            answers = [a if a["referenceId"] in failed else
                       {**a, "body": [_halted(_ROLLED_BACK_MESSAGE)], "httpHeaders": {},
                        "httpStatusCode": 400}
                       for a in answers]
        return self._answer(answers)

    def _run(self, call: Call, items: list[dict[str, Any]], *, halt_on_failure: bool
             ) -> tuple[list[dict[str, Any]], set[str]]:
        answers: list[dict[str, Any]] = []
        results: dict[str, Any] = {}
        failed: set[str] = set()
        for item in items:
            ref = item["referenceId"]
            if failed and halt_on_failure:
                answers.append(self._entry(ref, 400, [_halted(_ROLLED_BACK_MESSAGE)], {}))
                continue
            try:
                url = resolve_references(item["url"], results)
                body = resolve_references(item.get("body"), results)
            except _Unresolved as exc:
                failed.add(ref)
                ref_id = exc.reference.partition(".")[0]
                answers.append(self._entry(ref, 400, [_halted(
                    f"Invalid reference specified. No value for {exc.reference} found in "
                    f"{ref_id}. Provided referenceId ids are case-sensitive.")], {}))
                continue
            headers = {str(k): str(v) for k, v in (item.get("httpHeaders") or {}).items()}
            request = Request.build(
                method=item["method"], target=str(url), headers=headers,
                body=b"" if body is None else json.dumps(body).encode("utf-8"))
            response = self._subrequest(call.session, request)
            parsed = response.json_body()
            location = response.header("Location")
            answers.append(self._entry(ref, response.status, parsed,
                                       {"Location": location} if location else {}))
            if response.status >= 400:
                failed.add(ref)
            else:
                results[ref] = parsed
        return answers, failed

    @staticmethod
    def _entry(ref: str, status: int, body: Any, headers: dict[str, str]) -> dict[str, Any]:
        return {"body": body, "httpHeaders": headers, "httpStatusCode": status,
                "referenceId": ref}

    @staticmethod
    def _answer(answers: list[dict[str, Any]]) -> Response:
        return Response.json(200, {"compositeResponse": answers})
