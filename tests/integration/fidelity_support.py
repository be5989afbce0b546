"""Replaying the recorded Salesforce interactions of ``../shared/salesforce-corpus/recorded``.

Loads every interaction (CumulusCI cassettes flattened to JSON, Heroku AppLink
WireMock stubs), classifies each as ``compared``, ``by-design`` (a kind or an
object the local org does not serve, with the reason) or ``include`` (a cassette's
reference to a shared cassette that is compared once in its own file), and compares
a live answer's SHAPE with the recorded one: status, keys at every level, JSON
types, ``null`` against objects, string patterns of Ids, URLs and dates, and the
headers clients read. ``python -m tests.integration.fidelity_support`` prints the
classification table.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.schema import OrgSchema, default_schema
from sfrenew.localorg.soql import QueryEngine

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "salesforce-corpus"
RECORDED = CORPUS / "recorded"
COMPARED, BY_DESIGN, INCLUDE = "compared", "by-design", "include"
READ_HEADERS = ("Content-Type", "Sforce-Limit-Info", "Location")


@dataclass(frozen=True)
class Interaction:
    """One recorded request and its answer (host stripped, version as recorded)."""

    key: str  # cumulusci/<cassette>#<n> or heroku/<stub>
    method: str
    url: str
    body: Any
    status: int
    response: Any
    headers: dict[str, str]
    host: str = ""
    auth: str | None = None  # a recorded Authorization header that is part of the case
    include: str | None = None
    recorded: bool = True


@dataclass(frozen=True)
class Adaptation:
    """How a stub on a custom object of its test org is replayed on an object of ours."""

    reason: str
    url: str
    body: Any = None
    renames: dict[str, str] = field(default_factory=dict)  # recorded key -> our key
    corrupt_id: bool = False  # the stub's Id has a wrong case-safe suffix on purpose


# Heroku AppLink stubs recorded on custom objects of its test org (Movie__c, Random__c...)
# or whose URL was edited away from the recorded answer (Akcount): the same call on ours.
ADAPTATIONS: dict[str, Adaptation] = {
    "heroku/create": Adaptation("Movie__c -> Account", "/services/data/v51.0/sobjects/Account",
                                {"Name": "Star Wars Episode V", "Type": "Other"}),
    "heroku/create-invalid-field": Adaptation(
        "stub URL Akcount, recorded answer names Account", "/services/data/v51.0/sobjects/Account",
        {"FavoritePet__c": "Dog"}),
    "heroku/create-invalid-picklist-value": Adaptation(
        "Movie__c.Rating__c -> Account.CurrencyIsoCode (restricted picklist)",
        "/services/data/v51.0/sobjects/Account",
        {"Name": "Episode VIII", "CurrencyIsoCode": "XYZ"}),
    "heroku/create-required-field-missing": Adaptation(
        "Spaceship__c.Website__c -> Contact.LastName (required)",
        "/services/data/v51.0/sobjects/Contact", {"FirstName": "Falcon 9"}),
    "heroku/update": Adaptation(
        "Movie__c -> Account", "/services/data/v51.0/sobjects/Account/{001}",
        {"Description": "1980-05-21"}),
    "heroku/update-invalid-field": Adaptation(
        "Movie__c -> Account", "/services/data/v51.0/sobjects/Account/{001}", {"Color__c": "Red"}),
    "heroku/update-malformed-id": Adaptation(
        "Movie__c -> Account", "/services/data/v51.0/sobjects/Account/{001}",
        {"Description": "1980-05-21"}, corrupt_id=True),
    "heroku/query-with-next-records-url": Adaptation(
        "Random__c -> Case", "/services/data/v51.0/query?"
        + urlencode({"q": "SELECT Subject, Description FROM Case"}),
        renames={"RANDOM_1__c": "Subject", "RANDOM_2__c": "Description"}),
    "heroku/query-with-next-records-url-2": Adaptation(
        "Random__c -> Case", "/services/data/v51.0/query/{locator}",
        renames={"RANDOM_1__c": "Subject", "RANDOM_2__c": "Description"}),
}
PAGED_QUERY = "SELECT Subject, Description FROM Case"

# Shape differences the replay found and that are not fixed: the test marks each as a
# strict xfail, so a fix shows up as an XPASS to remove from here.
_ORGANIZATION_DIFFERENCE = (
    "Organization: the compound Address field is not served, and the org's schema loader "
    "gives every object IsDeleted (Salesforce's Organization has none)")
KNOWN_DIFFERENCES: dict[str, str] = {
    "cumulusci/tasks__bulkdata__tests__cassettes__TestSnowfakery"
    ".test_run_until_records_in_org__multiple_needed#1": _ORGANIZATION_DIFFERENCE,
    "cumulusci/tests__shared_cassettes__GET_sobjects_Organization#0": _ORGANIZATION_DIFFERENCE,
}

# --- loading -----------------------------------------------------------------------------


def _first(values: Any) -> str | None:
    if isinstance(values, list):
        return str(values[0]) if values else None
    return None if values is None else str(values)


def _json_or_text(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _cumulusci() -> list[Interaction]:
    found = []
    for path in sorted((RECORDED / "cumulusci").glob("cumulusci__*.json")):
        stem = path.stem.removeprefix("cumulusci__")
        for n, entry in enumerate(json.loads(path.read_text("utf-8"))):
            key = f"cumulusci/{stem}#{n}"
            if "include_file" in entry:
                found.append(Interaction(key, "", "", None, 0, None, {},
                                         include=entry["include_file"].split(" ")[0]))
                continue
            raw = entry.get("response_headers") or {}
            raw = raw.get("Response-Headers", raw)
            headers = {}
            if isinstance(raw, dict):
                headers = {h: v for h in READ_HEADERS if (v := _first(raw.get(h))) is not None}
            parts = urlsplit(entry["uri"])
            body = _json_or_text(entry["response_json"])
            found.append(Interaction(
                key, entry["method"], "/" + parts.path.lstrip("/")
                + (f"?{parts.query}" if parts.query else ""),
                _json_or_text(entry.get("request_body")), entry["status"],
                body if body is not None else _json_or_text(entry.get("response_text")), headers,
                host=parts.netloc))
    return found


def _heroku() -> list[Interaction]:
    found = []
    index = RECORDED / "heroku-applink-nodejs" / "INDEX.json"
    recorded = {e["file"]: e["recorded"] for e in json.loads(index.read_text("utf-8"))}
    for path in sorted((RECORDED / "heroku-applink-nodejs" / "mappings").glob("*.json")):
        stub = json.loads(path.read_text("utf-8"))
        request, response = stub["request"], stub["response"]
        url = request.get("url") or request.get("urlPath") or ""
        if params := request.get("queryParameters"):
            url += "?" + urlencode({k: v["equalTo"] for k, v in params.items()})
        patterns = request.get("bodyPatterns") or [{}]
        auth = (request.get("headers") or {}).get("Authorization", {}).get("equalTo")
        headers = {h: str(v) for h, v in (response.get("headers") or {}).items()
                   if h in READ_HEADERS}
        body = response.get("jsonBody", _json_or_text(response.get("body")))
        found.append(Interaction(
            f"heroku/{path.stem}", request["method"], url,
            _json_or_text(patterns[0].get("equalToJson")), response["status"],
            body if body != "" else None, headers,
            auth=None if auth in (None, "Bearer EXAMPLE-TOKEN") else auth,
            recorded=recorded.get(path.name, False)))
    return found


def load_interactions() -> list[Interaction]:
    """Every interaction of both recorded sources, in a stable order."""
    return _cumulusci() + _heroku()


# --- classification ------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """``compared``, ``by-design`` or ``include``, and why."""

    category: str
    reason: str = ""


_ENGINE_NOW = datetime(2026, 1, 1, tzinfo=UTC)
_QUOTED = re.compile(r"'([A-Za-z0-9_.]+)'")


def _soql_verdict(engine: QueryEngine, soql: str, status: int) -> Verdict | None:
    try:
        engine.prepare(soql, include_deleted=False, now=_ENGINE_NOW, api_version="59.0")
    except SalesforceApiError as error:
        if status >= 400:
            return None
        detail = error.errors[0]
        last = detail.message.splitlines()[-1]
        names = _QUOTED.findall(last)
        if detail.error_code == "INVALID_FIELD" and len(names) >= 2:
            return Verdict(BY_DESIGN, f"field not in schema: {names[1]}.{names[0]}")
        if detail.error_code == "INVALID_TYPE" and names:
            what = "relationship" if last.startswith("Didn't understand relationship") else "object"
            return Verdict(BY_DESIGN, f"{what} not in schema: {names[0]}")
        return Verdict(BY_DESIGN, f"query rejected: {detail.error_code}")
    return None


def _record_verdict(schema: OrgSchema, record: dict[str, Any],
                    sobject: str | None) -> Verdict | None:
    name = (record.get("attributes") or {}).get("type") or sobject or ""
    obj = schema.object(name)
    if obj is None:
        return Verdict(BY_DESIGN, f"object not in schema: {name}")
    for key in record:
        if key != "attributes" and obj.field(key) is None:
            return Verdict(BY_DESIGN, f"field not in schema: {obj.name}.{key}")
    return None


_NOT_SERVED = (("/services/async/", "Bulk API 1.0"), ("/tooling/", "Tooling API"),
               ("/limits/recordCount", "limits/recordCount"), ("/connect/", "Connect API"),
               ("/composite/graph", "composite/graph"), ("/jobs/", "Bulk API 2.0 stub"))


def classify(item: Interaction, schema: OrgSchema | None = None) -> Verdict:
    """Whether the local org's answer to this interaction is compared, and if not why."""
    schema = schema or default_schema()
    if item.include is not None:
        shared = Path(item.include).stem
        return Verdict(INCLUDE, f"include of {shared} (classified in its own file)")
    if item.key in ADAPTATIONS:
        return Verdict(COMPARED, f"adapted: {ADAPTATIONS[item.key].reason}")
    if item.host and not item.host.endswith("salesforce.com"):
        return Verdict(BY_DESIGN, "not a Salesforce API (GitHub)")
    for part, what in _NOT_SERVED:
        if part in item.url:
            hand = " (hand-written per the corpus README)" if what.endswith("stub") else ""
            return Verdict(BY_DESIGN, f"{what} not served{hand}" if not hand else what + hand)
    if not item.recorded:
        return Verdict(BY_DESIGN, "hand-written stub (INDEX.json: not recorded)")
    if item.headers.get("Content-Type", "").startswith("text/html"):
        return Verdict(BY_DESIGN, "recorded answer is an HTML page, not the REST API")
    if "ManualEdit" in item.key:
        return Verdict(BY_DESIGN, "hand-edited recording (ManualEdit*)")
    if isinstance(item.response, str) and item.url.startswith("/services/data/"):
        return Verdict(BY_DESIGN, "recorded body is placeholder text, not JSON")
    if (item.status < 300 and isinstance(item.response, list) and item.response
            and isinstance(item.response[0], dict) and "errorCode" in item.response[0]):
        return Verdict(BY_DESIGN, "an error list answered with HTTP 200 (a stub's simulated "
                                  "failure, not Salesforce)")
    return _classify_rest(item, schema) or Verdict(COMPARED)


def _classify_rest(item: Interaction, schema: OrgSchema) -> Verdict | None:
    path, _, query = item.url.partition("?")
    segments = [s for s in path.split("/") if s][3:]  # below services/data/vNN.0
    if segments[:1] in (["query"], ["queryAll"]) and len(segments) == 1:
        soql = parse_qs(query).get("q", [""])[0]
        return _soql_verdict(QueryEngine(schema), soql, item.status)
    if segments[:1] == ["sobjects"] and len(segments) >= 2:
        if schema.object(segments[1]) is None:
            return None if item.status >= 400 else Verdict(
                BY_DESIGN, f"object not in schema: {segments[1]}")
        if isinstance(item.body, dict):
            return _record_verdict(schema, item.body, segments[1])
    if segments[:2] == ["composite", "sobjects"] and isinstance(item.body, dict):
        sobject = segments[2] if len(segments) > 2 else None
        for record in item.body.get("records", []):
            if verdict := _record_verdict(schema, record, sobject):
                return verdict
    if segments == ["composite"] and isinstance(item.body, dict):
        answers = (item.response or {}).get("compositeResponse", [])
        for sub, answer in zip(item.body["compositeRequest"], answers, strict=False):
            inner = Interaction(item.key, sub["method"], sub["url"], sub.get("body"),
                                answer["httpStatusCode"], answer["body"], {})
            if (verdict := classify(inner, schema)).category != COMPARED:
                return verdict
    return None


def classification() -> list[tuple[Interaction, Verdict]]:
    """Every interaction with its verdict."""
    schema = default_schema()
    return [(item, classify(item, schema)) for item in load_interactions()]


def summary(rows: list[tuple[Interaction, Verdict]]) -> Counter[tuple[str, str]]:
    """Counts by (category, reason); adapted comparisons count as ``compared``."""
    return Counter((verdict.category, "" if verdict.category == COMPARED else verdict.reason)
                   for _item, verdict in rows)


# --- shapes --------------------------------------------------------------------------------

_PATTERNS = (
    ("id", re.compile(r"^(?=.*\d)[A-Za-z0-9]{18}$")),
    ("sobject-url", re.compile(r"^/services/data/v(\d+|xx)\.0/sobjects/\w+/[A-Za-z0-9]{15,18}$")),
    ("query-page-url", re.compile(r"^/services/data/v(\d+|xx)\.0/query(All)?/[A-Za-z0-9]+-\d+$")),
    ("datetime", re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")),
    ("date", re.compile(r"^\d{4}-\d\d-\d\d$")),
)
_EXACT_KEYS = frozenset({"errorCode", "statusCode"})  # codes are not org data


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "list" if isinstance(value, list) else "object"


def _pattern(text: str) -> str:
    return next((name for name, regex in _PATTERNS if regex.match(text)), "text")


@dataclass
class Shape:
    """What the recorded values at one position looked like (merged over list elements)."""

    kinds: set[str] = field(default_factory=set)
    keys: dict[str, Shape] = field(default_factory=dict)
    required: set[str] | None = None  # keys every recorded object had
    element: Shape | None = None
    patterns: set[str] = field(default_factory=set)
    values: set[str] = field(default_factory=set)  # for the codes compared exactly

    def learn(self, value: Any, *, key: str = "") -> Shape:
        """Merge one recorded value into this shape; returns self."""
        self.kinds.add(_kind(value))
        if isinstance(value, dict):
            present = set(value)
            self.required = present if self.required is None else self.required & present
            for name, inner in value.items():
                self.keys.setdefault(name, Shape()).learn(inner, key=name)
        elif isinstance(value, list):
            for inner in value:
                self.element = (self.element or Shape()).learn(inner, key=key)
        elif isinstance(value, str):
            self.patterns.add(_pattern(value))
            if key in _EXACT_KEYS:
                self.values.add(value)
        return self


def shape_of(value: Any) -> Shape:
    """The shape of one recorded answer."""
    return Shape().learn(value)


def differences(recorded: Shape, value: Any, path: str = "$") -> list[str]:
    """How ``value`` (the local org's answer) departs from the recorded shape.

    ``null`` stands for any value where the recording had one (org data), except for a
    list or ``attributes``; where the recording only had ``null`` any value is
    accepted. Objects need the keys every recorded object had and no key none had.
    """
    kind = _kind(value)
    if kind == "null":
        bad = recorded.kinds == {"list"} or path.endswith(".attributes")
        return [f"{path}: null, recorded {sorted(recorded.kinds)}"] if bad else []
    if recorded.kinds <= {"null"}:
        return []
    if kind not in recorded.kinds:
        return [f"{path}: {kind}, recorded {sorted(recorded.kinds)}"]
    if kind == "object":
        return _object_differences(recorded, value, path)
    if kind == "list":
        if recorded.element is None:
            return []
        return [d for n, inner in enumerate(value)
                for d in differences(recorded.element, inner, f"{path}[{n}]")][:20]
    if kind == "string":
        if recorded.values and value not in recorded.values:
            return [f"{path}: {value!r}, recorded {sorted(recorded.values)}"]
        if len(recorded.patterns) == 1 and "text" not in recorded.patterns:
            (pattern,) = recorded.patterns
            if _pattern(value) != pattern:
                return [f"{path}: {value!r} does not match the recorded {pattern} pattern"]
    return []


def _object_differences(recorded: Shape, value: dict[str, Any], path: str) -> list[str]:
    found = []
    missing = sorted((recorded.required or set()) - set(value))
    extra = sorted(set(value) - set(recorded.keys))
    if missing:
        found.append(f"{path}: missing keys {missing}")
    if extra:
        found.append(f"{path}: extra keys {extra}")
    for name, inner in value.items():
        if ("attributes" in value and isinstance(inner, dict) and "records" in inner
                and not inner["records"]):
            found.append(f"{path}.{name}: an empty child subquery must be null")
        if name in recorded.keys:
            found += differences(recorded.keys[name], inner, f"{path}.{name}")
    return found


def answer_differences(expected: Any, answer: Any) -> list[str]:
    """:func:`differences` from one recorded answer; composite subresponses, which
    differ in kind from one another, are also compared position by position."""
    found = differences(shape_of(expected), answer)
    if isinstance(expected, dict) and isinstance(answer, dict):
        if expected.get("records") and not answer.get("records"):
            found.append("$.records: empty where the recording has records (seed the org)")
        pairs = zip(expected.get("compositeResponse") or [],
                    answer.get("compositeResponse") or [], strict=False)
        for n, (recorded, ours) in enumerate(pairs):
            found += differences(shape_of(recorded), ours, f"$.compositeResponse[{n}]")
    return found


def header_differences(item: Interaction, status: int, headers: dict[str, str]) -> list[str]:
    """The headers clients read: Content-Type as recorded, Sforce-Limit-Info, Location on 201."""
    found = []
    recorded_type = item.headers.get("Content-Type")
    if recorded_type is not None and headers.get("Content-Type") != recorded_type:
        found.append(f"Content-Type {headers.get('Content-Type')!r}, recorded {recorded_type!r}")
    limit = headers.get("Sforce-Limit-Info")
    # CumulusCI's cassettes elide it; Salesforce sends it on every successful REST call.
    counted = item.key.startswith("cumulusci/") and item.status < 400
    if (("Sforce-Limit-Info" in item.headers or counted)
            and not re.match(r"^api-usage=\d+/\d+$", limit or "")):
        found.append(f"Sforce-Limit-Info {limit!r}")
    if status == 201 and "/sobjects/" in item.url and not re.match(
            r"^/services/data/v\d+\.0/sobjects/\w+/[A-Za-z0-9]{18}$", headers.get("Location", "")):
        found.append(f"Location {headers.get('Location')!r} on 201")
    return found


# --- requests -----------------------------------------------------------------------------

# A 15- or 18-character token with a digit: a recorded Id (names and words have none).
_ID = re.compile(
    r"(?<![A-Za-z0-9])(?=[A-Za-z0-9]*\d)([A-Za-z0-9]{18}|[A-Za-z0-9]{15})(?![A-Za-z0-9])")


@dataclass(frozen=True)
class Replay:
    """The request the local org gets for one interaction, and the answer to expect."""

    method: str
    url: str
    body: Any
    expected: Any


def _rename(value: Any, renames: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {renames.get(k, k): _rename(v, renames) for k, v in value.items()}
    if isinstance(value, list):
        return [_rename(v, renames) for v in value]
    return value


def build_replay(item: Interaction, *, version: str, live_ids: dict[str, list[str]],
                 placeholders: dict[str, str]) -> Replay:
    """The interaction's request on the local org: API version ``version`` for ``vxx.0``,
    recorded Ids replaced by live ones of the same object (``live_ids`` by key prefix,
    distinct recorded Ids get distinct live Ids) and ``{name}`` placeholders filled."""
    adaptation = ADAPTATIONS.get(item.key)
    url, body = (adaptation.url, adaptation.body) if adaptation else (item.url, item.body)
    expected = _rename(item.response, adaptation.renames) if adaptation else item.response
    text = json.dumps({"url": url, "body": body}).replace("/vxx.0/", f"/v{version}/")
    mapping: dict[str, str] = {}

    def live(match: re.Match[str]) -> str:
        recorded = match.group(1)
        pool = live_ids.get(recorded[:3])
        if not pool:
            return recorded
        if recorded not in mapping:
            mapping[recorded] = pool[len(mapping) % len(pool)]
        return mapping[recorded]

    text = _ID.sub(live, text)
    for name, value in placeholders.items():
        text = text.replace("{" + name + "}", value)
    data = json.loads(text)
    return Replay(item.method, data["url"], data["body"], expected)


def recorded_describe_shape(rows: list[tuple[Interaction, Verdict]]) -> Shape:
    """Every recorded per-object describe merged into one shape.

    The recordings come from orgs on different (redacted) API versions, which add
    describe keys over time (``associateEntityType``, ``urls.defaultValues``...): a key
    is required when every recording has it and allowed when one has it.
    """
    shape = Shape()
    for item, _verdict in rows:
        if item.url.split("?")[0].endswith("/describe") and isinstance(item.response, dict):
            shape.learn(item.response)
    return shape


def main() -> None:
    """Print the classification table (``python -m tests.integration.fidelity_support``)."""
    rows = classification()
    counts = summary(rows)
    categories = Counter(verdict.category for _item, verdict in rows)
    adapted = sum(1 for _item, v in rows if v.reason.startswith("adapted"))
    print(f"recorded interactions: {len(rows)} (cumulusci "
          f"{sum(1 for i, _v in rows if i.key.startswith('cumulusci/'))}, heroku-applink "
          f"{sum(1 for i, _v in rows if i.key.startswith('heroku/'))})")
    print(f"  compared {categories[COMPARED]} (of which adapted {adapted}; same shape "
          f"{categories[COMPARED] - len(KNOWN_DIFFERENCES)}, known differences "
          f"{len(KNOWN_DIFFERENCES)}), by-design {categories[BY_DESIGN]}, "
          f"include {categories[INCLUDE]}")
    for key, difference in KNOWN_DIFFERENCES.items():
        print(f"  known difference {key}: {difference}")
    for (category, reason), count in sorted(counts.items()):
        print(f"{count:5d}  {category:9s}  {reason}")


if __name__ == "__main__":
    main()
