"""What a refused resume says differs between the run's config and this one."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from sfrenew.config import AppConfig, load_config
from sfrenew.runner._resume import config_differences, config_identity, resume_hint
from sfrenew.store import RunKind

ROOT = Path(__file__).resolve().parents[3]


def _config(tmp_path: Path) -> AppConfig:
    shutil.copy(ROOT / "config.example.yaml", tmp_path / "config.yaml")
    (tmp_path / "mappings").mkdir()
    shutil.copy(ROOT / "mappings" / "standard.yaml", tmp_path / "mappings" / "standard.yaml")
    return load_config(tmp_path / "config.yaml")


def test_the_same_config_resumes(tmp_path: Path) -> None:
    config = _config(tmp_path)
    saved = {"fingerprint": config.fingerprint, **config_identity(config)}
    assert config_differences(saved, config) == []
    assert config_differences({}, config) == []  # saved before fingerprints: not compared


def test_a_changed_mapping_file_is_named(tmp_path: Path) -> None:
    config = _config(tmp_path)
    saved = {"fingerprint": config.fingerprint, **config_identity(config)}
    mapping = tmp_path / "mappings" / "standard.yaml"
    mapping.write_text(mapping.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    changed = load_config(tmp_path / "config.yaml")
    assert config_differences(saved, changed) == [
        f"the mapping file {mapping.resolve()} was changed since the run started"]


def test_another_config_file_is_named(tmp_path: Path) -> None:
    config = _config(tmp_path)
    saved = {"fingerprint": "0" * 16, **config_identity(config)}
    other = tmp_path / "other.yaml"
    other.write_text((tmp_path / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    moved = dataclasses.replace(load_config(other), fingerprint="1" * 16)
    assert config_differences(saved, moved) == [
        f"the config file was {(tmp_path / 'config.yaml').resolve()}, now {other.resolve()}"]


def test_an_old_run_with_only_a_fingerprint(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert config_differences({"fingerprint": "abc"}, config) == [
        "the config or its mapping file changed since the run started (fingerprint abc, now "
        f"{config.fingerprint})"]


def test_no_resume_is_offered_for_a_plan() -> None:
    assert "--resume" not in resume_hint(RunKind.PLAN, "r-1")
    assert resume_hint(RunKind.APPLY, "r-1") == "resume it with `sfrenew apply --resume r-1`"
    assert resume_hint(RunKind.BACKFILL, "r-1") == \
        "resume it with `sfrenew backfill --resume r-1`"
