"""Phase 1: every invalid fixture reports exactly its expected file:line:col messages."""

from pathlib import Path

import pytest

from sfrenew.mapping import Concept, load_mapping, load_mappings, parse_mapping
from sfrenew.yamlsource import YamlSourceError

HERE = Path(__file__).parent
INVALID = sorted((HERE / "invalid").glob("*.yaml"))
PRESETS = sorted((HERE.parents[2] / "mappings").glob("*.yaml"))


def _expected(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [f"{path}:{line.removeprefix('# expect: ')}" for line in lines
            if line.startswith("# expect: ")]


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_fixture_reports_its_expected_errors(path: Path) -> None:
    expected = _expected(path)
    assert expected, f"{path.name} has no '# expect:' line"
    with pytest.raises(YamlSourceError) as caught:
        load_mapping(path)
    assert [str(e) for e in caught.value.errors] == expected


def test_there_is_a_fixture_per_error_class() -> None:
    names = {p.stem for p in INVALID}
    assert {"unknown_key", "wrong_type", "missing_key_field", "bad_ownership", "bad_via",
            "duplicate_field", "yaml_syntax", "several_errors"} <= names


def test_several_errors_are_reported_together() -> None:
    path = HERE / "invalid" / "several_errors.yaml"
    with pytest.raises(YamlSourceError) as caught:
        load_mapping(path)
    sections = {e.path.split(".")[0] for e in caught.value.errors}
    assert sections == {"contract", "renewal_line", "task"}


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_presets_load(path: Path) -> None:
    loaded = load_mapping(path)
    assert loaded.model.renewal_opportunity.key_field == "Sfrenew_Key__c"


def test_presets_are_standard_and_cpq() -> None:
    assert {p.stem for p in PRESETS} >= {"standard", "cpq"}


def test_minimal_mapping_defaults() -> None:
    loaded = load_mapping(HERE / "minimal.yaml")
    model = loaded.model
    assert model.cases is None
    assert model.values.stage.won == "Closed Won"
    assert model.contract.fields["end_date"].field == "EndDate"  # short form
    assert model.contract.field_type("end_date") == "date"
    assert [m.concept for m in model.mapped()][:2] == [Concept.ACCOUNT, Concept.CONTRACT]


def test_load_mappings_collects_errors_of_every_file() -> None:
    paths = [HERE / "invalid" / "unknown_key.yaml", HERE / "invalid" / "bad_via.yaml"]
    with pytest.raises(YamlSourceError) as caught:
        load_mappings(paths)
    assert {e.file for e in caught.value.errors} == {str(p) for p in paths}


def test_not_a_mapping_document() -> None:
    with pytest.raises(YamlSourceError, match="a mapping file is a YAML mapping"):
        parse_mapping("- a\n- b\n", file="x.yaml")


def test_model_is_frozen() -> None:
    model = load_mapping(HERE / "minimal.yaml").model
    with pytest.raises(ValueError, match="frozen"):
        model.contract.object = "Other"


def test_filter_keeps_spaces_inside_values() -> None:
    text = (HERE / "minimal.yaml").read_text().replace(
        "  object: Contract\n", "  object: Contract\n  filter: \"  Name = 'a  b'  \"\n")
    assert parse_mapping(text, file="m.yaml").model.contract.filter == "Name = 'a  b'"
