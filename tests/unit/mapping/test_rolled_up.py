"""Opportunity.Amount is Salesforce's rollup of the line items: read, never written."""

from pathlib import Path

from sfrenew.mapping import Concept, Level, check_against_describe, load_mapping, parse_mapping
from sfrenew.mapping.translate import ownership_lookup, write_fields, written_fields
from tests.unit.mapping._describes import local_describes

ROOT = Path(__file__).parents[3]


def _with_amount() -> str:
    text = (ROOT / "mappings" / "standard.yaml").read_text(encoding="utf-8")
    return text.replace("    close_date: CloseDate\n", "    close_date: CloseDate\n"
                                                        "    amount: Amount\n", 1)


def test_amount_mapped_to_the_rollup_is_never_written() -> None:
    model = parse_mapping(_with_amount(), file="with_amount.yaml").model
    assert "amount" in model.renewal_opportunity.fields
    assert "amount" not in written_fields(model, Concept.RENEWAL_OPPORTUNITY)
    out = write_fields(model, Concept.RENEWAL_OPPORTUNITY, {"name": "R", "amount": 100})
    assert out == {"Name": "R"}
    assert ownership_lookup(model)("Opportunity", "Amount").value == "rep_after_edit"


def test_mappings_check_warns_about_a_rolled_up_amount(tmp_path: Path) -> None:
    path = tmp_path / "with_amount.yaml"
    path.write_text(_with_amount(), encoding="utf-8")
    findings = check_against_describe(load_mapping(path), local_describes())
    (warning,) = [f for f in findings if "rolled up" in f.message]
    assert warning.level is Level.WARNING
    assert warning.path == "renewal_opportunity.fields.amount"
    assert str(warning).startswith(f"{path}:")
    assert [f for f in findings if f.level is Level.ERROR] == []
