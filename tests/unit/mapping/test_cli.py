"""``sfrenew mappings ...`` exit codes and output, through click's CliRunner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sfrenew.cli import mappings as cli

ROOT = Path(__file__).parents[3]
HERE = Path(__file__).parent
STANDARD = str(ROOT / "mappings" / "standard.yaml")
CPQ = str(ROOT / "mappings" / "cpq.yaml")


def _run(*args: str) -> Any:
    return CliRunner().invoke(cli.mappings, list(args), catch_exceptions=False)


def test_check_valid_presets_exits_zero() -> None:
    result = _run("check", STANDARD, CPQ)
    assert result.exit_code == 0, result.output
    assert f"{STANDARD}: valid" in result.output


def test_check_invalid_file_exits_two_with_every_error() -> None:
    bad = str(HERE / "invalid" / "several_errors.yaml")
    result = _run("check", bad, STANDARD)
    assert result.exit_code == 2  # a configuration mistake (the one table; was 1)
    assert f"{bad}:11:3: error: contract.colour: unknown key" in result.output
    assert f"{bad}:28:1: error: task: key_field is required" in result.output
    assert f"{STANDARD}: valid" in result.output  # the good file is still checked


def test_check_org_against_the_local_org() -> None:
    result = _run("check", "--org", STANDARD, CPQ)
    assert result.exit_code == 0, result.output
    assert "checking against the local org's schema" in result.output
    assert f"{CPQ}: checked" in result.output


def test_check_org_with_only_warnings_exits_zero(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(Path(STANDARD).read_text().replace("end_date: EndDate", "end_date: enddate"))
    result = _run("check", "--org", str(path))
    assert result.exit_code == 0, result.output
    assert "warning: contract.fields.end_date: the org spells it 'EndDate'" in result.output


def test_check_org_error_exits_two(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(Path(STANDARD).read_text().replace("Sfrenew_Run_Id__c", "Sfrenew_RunId__c"))
    result = _run("check", "--org", str(path))
    assert result.exit_code == 2
    assert "field 'Sfrenew_RunId__c' is not on Opportunity (did you mean " \
           "'Sfrenew_Run_Id__c'?)" in result.output


def test_check_defaults_to_the_mappings_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = _run("check")
    assert result.exit_code == 0, result.output
    assert "mappings/cpq.yaml: valid" in result.output


def test_check_without_files_anywhere_is_a_usage_error(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SFRENEW_CONFIG", raising=False)
    result = CliRunner().invoke(cli.mappings, ["check"])
    assert result.exit_code == 2
    assert "no mapping files given" in result.output
    assert "--config" in result.output  # says how to name the config's mapping instead


def _config_beside_a_mapping(tmp_path: Path, mapping_text: str) -> Path:
    """A config in its own folder naming a mapping relative to that folder."""
    folder = tmp_path / "desk"
    (folder / "maps").mkdir(parents=True)
    (folder / "maps" / "ours.yaml").write_text(mapping_text)
    config = folder / "sfrenew.yaml"
    config.write_text("salesforce:\n  target: local\nmappings: maps/ours.yaml\n")
    return config


@pytest.mark.parametrize("how", ["option", "environment"])
def test_check_from_another_folder_checks_the_configs_mapping(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, how: str) -> None:
    config = _config_beside_a_mapping(tmp_path, Path(CPQ).read_text())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("SFRENEW_CONFIG", raising=False)
    if how == "environment":
        monkeypatch.setenv("SFRENEW_CONFIG", str(config))
        result = _run("check")
    else:
        result = _run("check", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert f"{config.parent / 'maps' / 'ours.yaml'}: valid" in result.output


def test_check_of_the_configs_broken_mapping_says_where(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    config = _config_beside_a_mapping(
        tmp_path, Path(STANDARD).read_text().replace("end_date: EndDate", "colour: Red__c"))
    monkeypatch.delenv("SFRENEW_CONFIG", raising=False)
    result = _run("check", "--config", str(config))
    assert result.exit_code == 2
    assert f"{config.parent / 'maps' / 'ours.yaml'}:" in result.output
    assert "colour" in result.output


def test_check_with_a_config_whose_mappings_key_is_wrong(monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    config = tmp_path / "sfrenew.yaml"
    config.write_text("salesforce:\n  target: local\nmappings: [a, b]\n")
    monkeypatch.delenv("SFRENEW_CONFIG", raising=False)
    result = CliRunner().invoke(cli.mappings, ["check", "--config", str(config)])
    assert result.exit_code == 2
    assert f"{config}:3:" in result.output
    assert "must be the path of a mapping file" in result.output


def test_schema_writes_the_committed_file(tmp_path: Path) -> None:
    out = tmp_path / "schema.json"
    result = _run("schema", "--out", str(out))
    assert result.exit_code == 0
    assert out.read_text() == (ROOT / "mappings" / "mappings.schema.json").read_text()
    assert _run("schema", "--out", "-").output == out.read_text()


def test_metadata_writes_a_deployable_project(tmp_path: Path) -> None:
    result = _run("metadata", "--out", str(tmp_path), CPQ)
    assert result.exit_code == 0, result.output
    assert "sf project deploy start" in result.output
    assert (tmp_path / "force-app/main/default/objects/Task/fields/"
            "Sfrenew_Key__c.field-meta.xml").exists()


def test_metadata_of_an_invalid_file_fails() -> None:
    result = CliRunner().invoke(cli.mappings, ["metadata", "--out", "/tmp/unused",
                                               str(HERE / "invalid" / "bad_via.yaml")])
    assert result.exit_code == 2
    assert "via must be 'lookup' or 'originating_opportunity'" in result.output


@pytest.mark.parametrize(("section", "where"), [
    ("salesforce:\n  target: org\n  auth: jwt\n  bogus: 1\n", ":4:3: salesforce.bogus"),
    ("salesforce:\n  target: org\n  auth: jwt\n", "auth: jwt needs consumer_key"),
])
def test_check_org_with_a_bad_salesforce_section_says_where(tmp_path: Path, section: str,
                                                            where: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(section, encoding="utf-8")
    result = _run("check", STANDARD, "--org", "--config", str(config))
    assert result.exit_code == 2, result.output  # a message, not a traceback
    assert where in result.output
    assert "Traceback" not in result.output
