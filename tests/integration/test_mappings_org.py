"""``mappings check --org`` through the gateway, against a running local org over HTTPS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from sfrenew.cli.mappings import mappings
from sfrenew.localorg.app import LocalOrg

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]
STANDARD = str(ROOT / "mappings" / "standard.yaml")
CPQ = str(ROOT / "mappings" / "cpq.yaml")


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A config whose salesforce: section targets a freshly started local org."""
    base = tmp_path_factory.mktemp("mappings-org")
    data_dir = base / "org"
    path = base / "config.yaml"
    path.write_text(f"salesforce:\n  target: local\n  local_data_dir: {data_dir}\n",
                    encoding="utf-8")
    with LocalOrg(data_dir):
        yield path


def test_both_presets_pass_check_org(config: Path) -> None:
    result = CliRunner().invoke(mappings, ["check", "--org", "--config", str(config),
                                           STANDARD, CPQ], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"checking against the org of {config}" in result.output
    assert "error" not in result.output
    assert "warning" not in result.output


def test_a_wrong_field_fails_check_org(config: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(Path(CPQ).read_text(encoding="utf-8")
                      .replace("SBQQ__NetPrice__c", "SBQQ__NetPrise__c")
                      .replace("object: Usage_Snapshot__c", "object: Usage_Snapshots__c"),
                      encoding="utf-8")
    result = CliRunner().invoke(mappings, ["check", "--org", "--config", str(config),
                                           str(broken)], catch_exceptions=False)
    assert result.exit_code == 2
    assert "field 'SBQQ__NetPrise__c' is not on SBQQ__Subscription__c (did you mean " \
           "'SBQQ__NetPrice__c'?)" in result.output
    assert "object 'Usage_Snapshots__c' is not in the org (did you mean " \
           "'Usage_Snapshot__c'?)" in result.output


def test_check_org_uses_the_configs_state_dir(tmp_path: Path) -> None:
    """`mappings check --org --config ../m/config.yaml` looked for the local org in the
    current folder's default, not under the config's state_dir."""
    folder = tmp_path / "m"
    folder.mkdir()
    path = folder / "config.yaml"
    path.write_text("state_dir: elsewhere\nsalesforce:\n  target: local\n", encoding="utf-8")
    with LocalOrg(folder / "elsewhere" / "localorg"):
        result = CliRunner().invoke(mappings, ["check", "--org", "--config", str(path),
                                               STANDARD], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"checking against the org of {path}" in result.output
