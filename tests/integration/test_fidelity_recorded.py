"""The local org answers every recorded Salesforce interaction of a kind it serves in the
recorded SHAPE (``../shared/salesforce-corpus/recorded``, see ``fidelity_support``).

Each compared interaction is replayed on one org for the module, seeded with the
records the requests refer to; recorded Ids become live Ids of the same object and
``vxx.0`` becomes v59.0. The classification of every interaction is pinned below, so
a compared case that starts failing cannot turn into a skip.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from sfrenew.localorg.app import LocalOrg
from tests.integration.conftest import API_VERSION, new_http_session
from tests.integration.fidelity_support import (
    ADAPTATIONS,
    BY_DESIGN,
    COMPARED,
    INCLUDE,
    KNOWN_DIFFERENCES,
    PAGED_QUERY,
    RECORDED,
    Interaction,
    answer_differences,
    build_replay,
    classification,
    differences,
    header_differences,
    recorded_describe_shape,
    shape_of,
    summary,
)

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not RECORDED.exists(), reason=f"no corpus at {RECORDED}")]

ROWS = classification() if RECORDED.exists() else []
COMPARED_ITEMS = [item for item, verdict in ROWS if verdict.category == COMPARED]

CASES = [pytest.param(item, id=item.key, marks=[pytest.mark.xfail(
            strict=True, reason=KNOWN_DIFFERENCES[item.key])]
          if item.key in KNOWN_DIFFERENCES else []) for item in COMPARED_ITEMS]
DESCRIBE_SHAPE = recorded_describe_shape(ROWS)

# (category, reason) -> number of interactions; `python -m tests.integration.fidelity_support`
# prints the same table.
EXPECTED_CLASSIFICATION: dict[tuple[str, str], int] = {
    (COMPARED, ""): 107,
    (INCLUDE, "include of GET_sobjects_Account_describe (classified in its own file)"): 56,
    (INCLUDE, "include of GET_sobjects_Contact_describe (classified in its own file)"): 48,
    (INCLUDE, "include of GET_sobjects_Event_describe (classified in its own file)"): 18,
    (INCLUDE, "include of GET_sobjects_Global_describe (classified in its own file)"): 83,
    (INCLUDE, "include of GET_sobjects_Lead_describe (classified in its own file)"): 14,
    (INCLUDE, "include of GET_sobjects_Opportunity_describe (classified in its own file)"): 36,
    (INCLUDE, "include of GET_sobjects_Organization (classified in its own file)"): 11,
    (BY_DESIGN, "Bulk API 1.0 not served"): 69,
    (BY_DESIGN, "Bulk API 2.0 stub (hand-written per the corpus README)"): 66,
    (BY_DESIGN, "Connect API not served"): 1,
    (BY_DESIGN, "Tooling API not served"): 22,
    (BY_DESIGN, "composite/graph not served"): 7,
    (BY_DESIGN, "limits/recordCount not served"): 28,
    (BY_DESIGN, "not a Salesforce API (GitHub)"): 5,
    (BY_DESIGN, "hand-edited recording (ManualEdit*)"): 6,
    (BY_DESIGN, "recorded body is placeholder text, not JSON"): 3,
    (BY_DESIGN, "hand-written stub (INDEX.json: not recorded)"): 1,
    (BY_DESIGN, "recorded answer is an HTML page, not the REST API"): 2,
    (BY_DESIGN, "field not in schema: Account.RecordTypeId"): 2,
    (BY_DESIGN, "field not in schema: Contact.ReportsToId"): 1,
    (BY_DESIGN, "field not in schema: Opportunity.ContactId"): 2,
    (BY_DESIGN, "field not in schema: Opportunity.IsPrivate"): 1,
    (BY_DESIGN, "an error list answered with HTTP 200 (a stub's simulated failure, not "
                "Salesforce)"): 1,
    (BY_DESIGN, "object not in schema: Custom__c"): 1,
    (BY_DESIGN, "object not in schema: Event"): 5,
    (BY_DESIGN, "object not in schema: Lead"): 3,
    (BY_DESIGN, "object not in schema: OpportunityContactRole"): 1,
    (BY_DESIGN, "object not in schema: RecordType"): 3,
    (BY_DESIGN, "relationship not in schema: Opportunities"): 3,
}
PAGED_ROWS = 4_100  # more than two 2,000-row pages, as the recorded paging stubs have


def _index_length(source: str) -> int:
    return len(json.loads((RECORDED / source / "INDEX.json").read_text("utf-8")))


def test_every_recorded_interaction_is_classified_as_pinned() -> None:
    assert len(ROWS) == _index_length("cumulusci") + _index_length("heroku-applink-nodejs")
    assert dict(summary(ROWS)) == EXPECTED_CLASSIFICATION


class OrgUnderTest:
    """The module's org, a session on it and the seeded records' Ids by key prefix."""

    def __init__(self, org: LocalOrg, http: requests.Session) -> None:
        self.org, self.http = org, http
        self.token = org.issue_session()
        self.user = org.integration_user_id
        store = org.store
        accounts = [store.create("Account", values, user_id=self.user) for values in (
            {"Name": "Sitwell-Bluth", "AccountNumber": "420", "Phone": "123456"},
            {"Name": "Smith Corp.", "Description": "Some Description"},
            {"Name": "Global Media"}, {"Name": "Acme"}, {"Name": "Account 5"})]
        contacts = [store.create("Contact", {
            "FirstName": first, "LastName": last, "Email": email, "AccountId": accounts[n % 2]},
            user_id=self.user) for n, (first, last, email) in enumerate((
                ("Lindsay", "Sitwell", "lindsay.bluth@example.com"),
                ("Michael", "Bluth", "Michael.Bluth@example.com"),
                ("Audrey", "Cain", "audrey.cain@example.com")))]
        opportunities = [store.create("Opportunity", {
            "Name": name, "StageName": "Prospecting", "CloseDate": "2021-10-03",
            "AccountId": accounts[0]}, user_id=self.user)
            for name in ("Illusional Opportunity", "Espionage Opportunity")]
        store.insert_many("Case", ({"Subject": f"Case {n}", "Description": None if n % 3 else "x"}
                                   for n in range(PAGED_ROWS)), user_id=self.user)
        document = store.create("ContentDocument", {"Title": "salesforce-tiny"},
                                user_id=self.user)
        version = store.create("ContentVersion", {
            "Title": "salesforce-tiny", "PathOnClient": "salesforce-tiny.png",
            "ContentDocumentId": document, "VersionData": "aGVsbG8="}, user_id=self.user)
        self.live_ids = {"001": accounts, "003": contacts, "006": opportunities,
                         "005": [self.user], "00D": [org.identity.org_id], "068": [version]}

    def send(self, method: str, url: str, body: Any, *, auth: str | None = None
             ) -> requests.Response:
        """One call with the module's session (or a recorded Authorization header)."""
        headers = {"Authorization": auth or f"Bearer {self.token}"}
        payload = {"json": body} if isinstance(body, dict | list) else {"data": body}
        return self.http.request(method, f"{self.org.instance_url}{url}", headers=headers,
                                 **payload)

    def fresh_account(self) -> str:
        """A new Account that no other case touches."""
        return self.org.store.create("Account", {"Name": "Fidelity scratch"}, user_id=self.user)

    def page_locator(self, version: str) -> str:
        """A live locator of the paged query (for the recorded second page)."""
        first = self.http.get(f"{self.org.instance_url}/services/data/v{version}/query",
                              params={"q": PAGED_QUERY},
                              headers={"Authorization": f"Bearer {self.token}"})
        return str(first.json()["nextRecordsUrl"]).rsplit("/", 1)[1]


@pytest.fixture(scope="module")
def org_under_test(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrgUnderTest]:
    """One seeded local org for the module."""
    with LocalOrg(tmp_path_factory.mktemp("fidelity")) as org:
        http = new_http_session(org)
        try:
            yield OrgUnderTest(org, http)
        finally:
            http.close()


def _corrupt(record_id: str) -> str:
    """The Id with a wrong case-safe suffix (what the recorded MALFORMED_ID stub sends)."""
    return record_id[:-1] + ("B" if record_id[-1] != "B" else "C")


def _placeholders(item: Interaction, target: OrgUnderTest) -> dict[str, str]:
    adaptation = ADAPTATIONS.get(item.key)
    if adaptation is None:
        return {}
    values: dict[str, str] = {}
    if "{001}" in adaptation.url:
        fresh = target.fresh_account()
        values["001"] = _corrupt(fresh) if adaptation.corrupt_id else fresh
    if "{locator}" in adaptation.url:
        values["locator"] = target.page_locator(adaptation.url.split("/")[3][1:])
    return values


def _live_ids(item: Interaction, target: OrgUnderTest) -> dict[str, list[str]]:
    if item.method != "DELETE":
        return target.live_ids
    doomed = target.fresh_account()  # a delete consumes its record
    recorded_codes = [e.get("errorCode") for e in item.response or [] if isinstance(e, dict)]
    if "ENTITY_IS_DELETED" in recorded_codes:
        target.org.store.delete("Account", doomed, user_id=target.user)
    return {**target.live_ids, "001": [doomed]}


def _own_describe_key(problem: str) -> bool:
    return problem.startswith(("$: missing keys", "$.urls: missing keys"))


def test_known_differences_are_compared_cases() -> None:
    assert set(KNOWN_DIFFERENCES) <= {item.key for item in COMPARED_ITEMS}


@pytest.mark.parametrize("item", CASES)
def test_answer_has_the_recorded_shape(item: Interaction, org_under_test: OrgUnderTest) -> None:
    replay = build_replay(item, version=API_VERSION, live_ids=_live_ids(item, org_under_test),
                          placeholders=_placeholders(item, org_under_test))
    response = org_under_test.send(replay.method, replay.url, replay.body, auth=item.auth)
    binary = "octetstream" in item.headers.get("Content-Type", "")
    answer = response.json() if response.content and not binary else None
    problems = header_differences(item, response.status_code, dict(response.headers))
    if binary:
        # Blob data ("Get Blob Data"): the bytes differ by design; status and type count.
        if response.status_code != item.status or not response.content:
            problems.append(f"status {response.status_code} with {len(response.content)} "
                            f"bytes, recorded {item.status} with blob data")
    elif response.status_code != item.status:
        problems.insert(0, f"status {response.status_code}, recorded {item.status}: {answer}")
    elif replay.expected is None:
        if answer is not None:
            problems.append(f"a body where the recording has none: {answer}")
    else:
        problems += answer_differences(replay.expected, answer)
        if urlsplit(replay.url).path.endswith("/describe"):
            # Across API versions: the keys of all recorded describes; the object's own
            # recording still decides which keys it must have (Case's article URLs).
            problems = [p for p in problems if _own_describe_key(p)]
            problems += differences(DESCRIBE_SHAPE, answer)
    assert not problems, (f"{item.method} {urlsplit(replay.url).path}\n" + "\n".join(problems)
                          + f"\nanswer: {json.dumps(answer)[:600]}")


_URL = "/services/data/vxx.0/sobjects"
_RECORDED_PAGE: dict[str, Any] = {"totalSize": 1, "done": True, "records": [{
    "attributes": {"type": "Account", "url": f"{_URL}/Account/001B000001LntWlIAJ"},
    "Id": "001B000001LntWlIAJ", "Name": "Acme", "Contacts": None,
    "Owner": {"attributes": {"type": "User", "url": f"{_URL}/User/005B0000008UC2PIAW"},
              "Name": "Guy"}}]}


def _page(**changes: Any) -> dict[str, Any]:
    record = {**_RECORDED_PAGE["records"][0], **changes}
    return {**_RECORDED_PAGE, "records": [{k: v for k, v in record.items() if v != "DROP"}]}


@pytest.mark.parametrize(("answer", "expected"), [
    (_page(), []),
    (_page(Name=None, Owner=None), []),  # empty values and lookups are org data
    (_page(Id="0015g000000000IAAB"), []),
    (_page(Name="DROP"), ["$.records[0]: missing keys ['Name']"]),
    (_page(Extra=1), ["$.records[0]: extra keys ['Extra']"]),
    (_page(Name=5), ["$.records[0].Name: number, recorded ['string']"]),
    (_page(Id="not an id"),
     ["$.records[0].Id: 'not an id' does not match the recorded id pattern"]),
    (_page(Contacts={"totalSize": 0, "done": True, "records": []}),
     ["$.records[0].Contacts: an empty child subquery must be null"]),
    ({**_RECORDED_PAGE, "records": {}}, ["$.records: object, recorded ['list']"]),
])
def test_shape_comparison(answer: dict[str, Any], expected: list[str]) -> None:
    assert differences(shape_of(_RECORDED_PAGE), answer) == expected


def test_error_codes_are_compared_exactly() -> None:
    recorded = [{"message": "x", "errorCode": "MALFORMED_ID", "fields": ["Id"]}]
    answer = [{"message": "y", "errorCode": "NOT_FOUND", "fields": ["Id"]}]
    assert differences(shape_of(recorded), answer) == [
        "$[0].errorCode: 'NOT_FOUND', recorded ['MALFORMED_ID']"]
