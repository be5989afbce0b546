"""load_config: every section validated, every mistake reported at once with file:line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sfrenew.config import load_config
from sfrenew.yamlsource import YamlSourceError

ROOT = Path(__file__).resolve().parents[3]


def _write(tmp_path: Path, text: str) -> Path:
    shutil.copytree(ROOT / "mappings", tmp_path / "mappings", dirs_exist_ok=True)
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_config_loads_with_its_defaults() -> None:
    config = load_config(ROOT / "config.example.yaml")
    assert config.salesforce.target == "local"
    assert config.state_dir == ROOT / ".state"
    assert config.store_url == f"sqlite:///{ROOT / '.state' / 'sfrenew.sqlite3'}"
    assert config.salesforce.local_data_dir == ROOT / ".state" / "localorg"
    assert config.mapping.renewal_opportunity.object == "Opportunity"
    assert config.run.pull_overlap_seconds == 300
    assert config.rules.eligibility.horizon_days == 180
    assert len(config.fingerprint) == 16


def test_a_minimal_file_takes_every_default(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, "salesforce: {target: local}\n"))
    assert config.state_dir == tmp_path / ".state"
    assert config.mapping_path == tmp_path / "mappings/standard.yaml"
    assert config.run.write_chunk_size == 200


def test_every_mistake_of_every_section_at_once(tmp_path: Path) -> None:
    path = _write(tmp_path, """\
salesforce:
  target: local
  password: hunter2
store:
  uri: sqlite:///x
run:
  pull_overlap_seconds: -5
  write_chunk_size: many
rules:
  coterm:
    window_days: -1
extra_section: 1
""")
    with pytest.raises(YamlSourceError) as caught:
        load_config(path)
    text = str(caught.value)
    lines = text.splitlines()
    assert len(lines) >= 6
    assert f"{path}:12:1: extra_section: unknown section" in text
    assert f"{path}:5:3: store.uri: unknown key" in text
    assert f"{path}:7:3: run.pull_overlap_seconds:" in text
    assert f"{path}:8:3: run.write_chunk_size:" in text
    assert "secrets must not be written" in text
    assert "rules.coterm.window_days" in text


def test_mapping_mistakes_point_into_the_mapping_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "salesforce: {target: local}\nmappings: mappings/broken.yaml\n"
                            "run: {max_api_calls: 0}\n")
    broken = (ROOT / "mappings/standard.yaml").read_text(encoding="utf-8").replace(
        "    name: Name\n", "    nmae: Name\n", 1)
    (tmp_path / "mappings/broken.yaml").write_text(broken, encoding="utf-8")
    with pytest.raises(YamlSourceError) as caught:
        load_config(path)
    text = str(caught.value)
    assert "mappings/broken.yaml:" in text
    assert "nmae" in text
    assert f"{path}:3:" in text  # and the config's own mistake, in the same report


def test_a_missing_mapping_file_is_located_in_the_config(tmp_path: Path) -> None:
    path = _write(tmp_path, "salesforce: {target: local}\nmappings: nowhere.yaml\n")
    with pytest.raises(YamlSourceError, match=r"config.yaml:2:1: mappings: no mapping file"):
        load_config(path)


def test_store_and_state_dir_are_resolved_next_to_the_config(tmp_path: Path) -> None:
    path = _write(tmp_path, "salesforce: {target: local}\nstate_dir: var\n"
                            "store: {url: 'postgresql+psycopg://db/x'}\n")
    config = load_config(path)
    assert config.state_dir == tmp_path / "var"
    assert config.store_url == "postgresql+psycopg://db/x"
