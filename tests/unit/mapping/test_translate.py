"""Records to concept values and back, through the presets."""

import pickle
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from sfrenew.core.changeset import Ownership
from sfrenew.mapping import Coercion, Concept, load_mapping
from sfrenew.mapping.coerce import (
    CoercionError,
    FieldShape,
    coerce,
    rate_factor,
    to_salesforce,
)
from sfrenew.mapping.translate import (
    ConceptRecord,
    field_value,
    key_field,
    lines_by_contract,
    ownership_lookup,
    read_record,
    read_records,
    relationship_name,
    select_fields,
    write_fields,
)

MAPPINGS = Path(__file__).parents[3] / "mappings"
STANDARD = load_mapping(MAPPINGS / "standard.yaml").model
CPQ = load_mapping(MAPPINGS / "cpq.yaml").model


def test_select_fields_for_cpq_lines() -> None:
    fields = select_fields(CPQ, Concept.CONTRACT_LINE)
    assert fields[:2] == ["Id", "SBQQ__Contract__c"]
    assert "SBQQ__Product__r.Family" in fields
    assert "SBQQ__RenewalUpliftRate__c" in fields


def test_select_fields_for_standard_lines_follow_the_opportunity() -> None:
    fields = select_fields(STANDARD, Concept.CONTRACT_LINE)
    assert fields[:3] == ["Id", "OpportunityId", "Opportunity.ContractId"]
    assert len({f.lower() for f in fields}) == len(fields)


def test_select_fields_of_a_written_concept_include_the_key() -> None:
    assert select_fields(STANDARD, Concept.TASK)[:2] == ["Id", "Sfrenew_Key__c"]
    assert key_field(STANDARD, Concept.RENEWAL_LINE) == "Sfrenew_Key__c"
    with pytest.raises(KeyError):
        key_field(STANDARD, Concept.CONTRACT)


def test_read_contract_coerces_values() -> None:
    record = {"attributes": {"type": "Contract"}, "Id": "800000000000001AAA",
              "AccountId": "001000000000001AAA", "StartDate": "2024-01-01",
              "EndDate": "2024-12-31", "ContractTerm": 12, "Status": "Activated",
              "CurrencyIsoCode": "EUR", "Do_Not_Renew__c": False, "Uplift_Rate__c": 5.0,
              "Uplift_Cap__c": None, "ContractNumber": "00000101"}
    contract, problems = read_record(STANDARD, Concept.CONTRACT, record)
    assert problems == []
    assert contract.sf_id == "800000000000001AAA"
    assert contract.values["end_date"] == date(2024, 12, 31)
    assert contract.values["uplift_rate"] == Decimal("0.05")  # percent field: 5 means 5%
    assert contract.values["uplift_cap"] is None
    assert contract.values["term_months"] == 12
    assert contract.values["do_not_renew"] is False


def test_read_typed_gateway_records() -> None:
    # The gateway's reads are flat and typed already (Decimal, date, aware datetime).
    record = {"Id": "500000000000001AAA", "AccountId": "001000000000001AAA",
              "Severity__c": "Sev1", "IsClosed": False,
              "CreatedDate": datetime(2024, 3, 1, 23, 30, tzinfo=UTC)}
    case, problems = read_record(STANDARD, Concept.CASES, record)
    assert problems == []
    assert case.values["created"] == date(2024, 3, 1)


def test_coercion_problems_name_the_record_and_field() -> None:
    record = {"Id": "800000000000001AAA", "EndDate": "soon", "ContractTerm": 12.5}
    contract, problems = read_record(STANDARD, Concept.CONTRACT, record)
    assert [str(p) for p in problems] == [
        "Contract 800000000000001AAA: EndDate: 'soon' is not a date",
        "Contract 800000000000001AAA: ContractTerm: 12.5 is not a whole number",
    ]
    assert contract.values["end_date"] is None


def test_relationship_paths_and_links() -> None:
    line = {"Id": "00k000000000001AAA", "OpportunityId": "006000000000001AAA",
            "Opportunity": {"ContractId": "800000000000001AAA"},
            "Product2": {"Family": "Platform"}, "Quantity": 3, "UnitPrice": 1200.5}
    converted, problems = read_record(STANDARD, Concept.CONTRACT_LINE, line)
    assert problems == []
    assert converted.values["product_family"] == "Platform"
    assert converted.values["unit_price"] == Decimal("1200.5")
    assert converted.contract_id == "800000000000001AAA"
    assert converted.opportunity_id == "006000000000001AAA"


def test_lines_by_contract_for_every_link_kind() -> None:
    cpq_line, _ = read_record(CPQ, Concept.CONTRACT_LINE,
                              {"Id": "a02000000000001AAA", "SBQQ__Contract__c": "800A"})
    lines, _ = read_records(STANDARD, Concept.CONTRACT_LINE, [
        {"Id": "L1", "OpportunityId": "006A", "Opportunity": {"ContractId": "800B"}},
        {"Id": "L2", "OpportunityId": "006C", "Opportunity": None}])
    contract_link = ConceptRecord(concept=Concept.CONTRACT, sf_id="800C", values={},
                                  originating_opportunity_id="006C")
    grouped = lines_by_contract([contract_link], [cpq_line, *lines])
    assert {k: [r.sf_id for r in v] for k, v in grouped.items()} == {
        "800A": ["a02000000000001AAA"], "800B": ["L1"], "800C": ["L2"]}


def test_write_fields_maps_and_serialises() -> None:
    fields = write_fields(STANDARD, Concept.RENEWAL_LINE, {
        "quantity": Decimal(3), "unit_price": Decimal("1234.56"),
        "uplift_rate": Decimal("0.035"), "start_date": date(2025, 1, 1),
        "end_date": date(2025, 12, 31), "proration_method": "day"})
    assert fields == {"Quantity": Decimal(3), "UnitPrice": Decimal("1234.56"),
                      "Sfrenew_Uplift_Rate__c": Decimal("3.500"), "ServiceDate": "2025-01-01",
                      "Sfrenew_Proration_Method__c": "day"}  # end_date is not mapped


def test_write_fields_rejects_read_only_concept_fields() -> None:
    with pytest.raises(KeyError, match="is_closed"):
        write_fields(STANDARD, Concept.TASK, {"is_closed": True})
    with pytest.raises(KeyError):
        write_fields(STANDARD, Concept.CONTRACT, {"end_date": date(2025, 1, 1)})


def test_ownership_lookup() -> None:
    owner = ownership_lookup(STANDARD)
    assert owner("Opportunity", "Sfrenew_Explanation__c") is Ownership.ENFORCE
    assert owner("opportunity", "stagename") is Ownership.CREATE_ONLY
    assert owner("Opportunity", "CloseDate") is Ownership.REP_AFTER_EDIT
    assert owner("OpportunityLineItem", "OpportunityId") is Ownership.CREATE_ONLY
    assert owner("Contract", "EndDate") is Ownership.REP_AFTER_EDIT  # never written


def test_field_value_is_case_insensitive_and_null_safe() -> None:
    assert field_value({"Account": {"Name": "Acme"}}, "account.name") == "Acme"
    assert field_value({"Account": None}, "Account.Name") is None
    assert field_value({"Product2.Family": "Platform"}, "product2.family") == "Platform"
    assert relationship_name("SBQQ__Contract__c") == "SBQQ__Contract__r"
    assert relationship_name("OpportunityId") == "Opportunity"


@pytest.mark.parametrize(("value", "coercion", "expected"), [
    ("2024-02-29", Coercion.DATE, date(2024, 2, 29)),
    ("2024-02-29T23:30:00.000+0000", Coercion.DATE, date(2024, 2, 29)),
    (0.1, Coercion.DECIMAL, Decimal("0.1")),
    ("12.50", Coercion.DECIMAL, Decimal("12.50")),
    (7.5, Coercion.PERCENT, Decimal("0.075")),
    ("3", Coercion.INT, 3),
    ("true", Coercion.BOOL, True),
    ("0", Coercion.BOOL, False),
    (12, Coercion.STRING, "12"),
    ("001000000000001AAA", Coercion.ID, "001000000000001AAA"),
    ("", Coercion.DATE, None),
    (None, Coercion.INT, None),
])
def test_coerce(value: object, coercion: Coercion, expected: object) -> None:
    assert coerce(value, coercion) == expected


@pytest.mark.parametrize(("value", "coercion", "message"), [
    ("soon", Coercion.DATE, "'soon' is not a date"),
    ("lots", Coercion.DECIMAL, "'lots' is not a number"),
    ("NaN", Coercion.DECIMAL, "'NaN' is not a number"),
    (True, Coercion.DECIMAL, "True is not a number"),
    ("maybe", Coercion.BOOL, "'maybe' is not a boolean"),
    ("not-an-id", Coercion.ID, "'not-an-id' is not a Salesforce Id"),
    ({"a": 1}, Coercion.STRING, "{'a': 1} is not text"),
])
def test_coerce_errors(value: object, coercion: Coercion, message: str) -> None:
    with pytest.raises(CoercionError) as caught:
        coerce(value, coercion)
    assert str(caught.value) == message


def test_to_salesforce_round_trips_percent() -> None:
    assert to_salesforce(Decimal("0.05"), Coercion.PERCENT) == Decimal("5.00")
    assert coerce(to_salesforce(Decimal("0.05"), Coercion.PERCENT), Coercion.PERCENT) == \
        Decimal("0.05")
    assert to_salesforce(None, Coercion.DATE) is None


@pytest.mark.parametrize(("sf_type", "stored", "rate"), [
    ("percent", 7, Decimal("0.07")),  # Salesforce Percent: 7 means 7 %; 7 / 100 = 0.07
    ("percent", "4.1", Decimal("0.041")),  # Bulk CSV text; 4.1 / 100
    ("double", 0.07, Decimal("0.07")),  # a plain Number holds the fraction itself
    ("double", "0.0325", Decimal("0.0325")),
    (None, 7, Decimal("0.07")),  # no describe: taken as a Percent field
])
def test_rates_follow_the_field_type(sf_type: str | None, stored: object, rate: Decimal) -> None:
    assert coerce(stored, Coercion.PERCENT, sf_type=sf_type) == rate
    back = to_salesforce(rate, Coercion.PERCENT, sf_type=sf_type)
    assert back == Decimal(str(stored))


def test_rate_factor() -> None:
    assert rate_factor("percent") == 100
    assert rate_factor(None) == 100
    assert rate_factor("double") == 1
    assert rate_factor("currency") == 1


def test_read_and_write_rates_by_the_orgs_describe() -> None:
    """The same mapping on two orgs: Uplift_Rate__c a Percent field, or a Number field."""
    record = {"Id": "800000000000001AAA", "AccountId": "001000000000001AAA",
              "StartDate": "2024-01-01", "EndDate": "2024-12-31", "Status": "Activated",
              "Uplift_Rate__c": 7, "Uplift_Cap__c": 0.1}
    percent = {("contract", "uplift_rate__c"): FieldShape("percent", scale=2),
               ("contract", "uplift_cap__c"): FieldShape("percent", scale=2)}
    number = {("contract", "uplift_rate__c"): FieldShape("percent", scale=2),
              ("contract", "uplift_cap__c"): FieldShape("double", scale=4)}
    read, _ = read_record(STANDARD, Concept.CONTRACT, record, percent)
    assert (read.values["uplift_rate"], read.values["uplift_cap"]) == (
        Decimal("0.07"), Decimal("0.001"))  # 0.1 in a Percent field is 0.1 %
    read, _ = read_record(STANDARD, Concept.CONTRACT, record, number)
    assert (read.values["uplift_rate"], read.values["uplift_cap"]) == (
        Decimal("0.07"), Decimal("0.1"))  # the Number field holds 10 % as 0.1
    written = write_fields(STANDARD, Concept.RENEWAL_LINE, {"uplift_rate": Decimal("0.07")},
                           shapes={("opportunitylineitem", "sfrenew_uplift_rate__c"):
                                   FieldShape("percent", scale=4)})
    assert written == {"Sfrenew_Uplift_Rate__c": Decimal("7.00")}
    written = write_fields(STANDARD, Concept.RENEWAL_LINE, {"uplift_rate": Decimal("0.07")},
                           shapes={("opportunitylineitem", "sfrenew_uplift_rate__c"):
                                   FieldShape("double", scale=4)})
    assert written == {"Sfrenew_Uplift_Rate__c": Decimal("0.07")}


def test_a_describe_is_never_answered_from_another() -> None:
    """Readers and writers are worked out once per describe: a describe read again
    answers as the first time, and one that grew since is worked out again."""
    record = {"Id": "800000000000001AAA", "Uplift_Cap__c": 0.1}
    shapes = {("contract", "uplift_cap__c"): FieldShape("percent", scale=2)}
    number = {("contract", "uplift_cap__c"): FieldShape("double", scale=4)}
    grown: dict[tuple[str, str], FieldShape] = {}

    def cap(describe: dict[tuple[str, str], FieldShape] | None) -> object:
        return read_record(STANDARD, Concept.CONTRACT, record, describe)[0].values["uplift_cap"]

    assert [cap(shapes), cap(number), cap(shapes), cap(None)] == [
        Decimal("0.001"), Decimal("0.1"), Decimal("0.001"), Decimal("0.001")]
    assert cap(grown) == Decimal("0.001")  # no describe of the field: a Percent field
    grown[("contract", "uplift_cap__c")] = FieldShape("double", scale=4)
    assert cap(grown) == Decimal("0.1")
    line = {("opportunitylineitem", "sfrenew_uplift_rate__c"): FieldShape("double", scale=4)}
    rate = {"uplift_rate": Decimal("0.07")}
    assert write_fields(STANDARD, Concept.RENEWAL_LINE, rate) == {
        "Sfrenew_Uplift_Rate__c": Decimal("7.00")}
    assert write_fields(STANDARD, Concept.RENEWAL_LINE, rate, shapes=line) == {
        "Sfrenew_Uplift_Rate__c": Decimal("0.07")}



def test_a_used_mapping_goes_to_a_planning_process() -> None:
    """A mapping that has read records pickles (to a planning process) without what it
    worked out, and reads the same there."""
    record = {"Id": "800000000000001AAA", "Uplift_Cap__c": 7}
    shapes = {("contract", "uplift_cap__c"): FieldShape("percent", scale=2)}
    here = read_record(STANDARD, Concept.CONTRACT, record, shapes)[0].values
    copy = pickle.loads(pickle.dumps(STANDARD))
    assert copy == STANDARD
    assert "memo" not in copy.__dict__
    assert "memo" not in copy.contract.__dict__
    assert read_record(copy, Concept.CONTRACT, record, shapes)[0].values == here
