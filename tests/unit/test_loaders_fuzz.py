"""No traceback from any config, mapping or job file: a mutation fuzz over the loaders.

Each example takes a shipped file (config.example.yaml, a mapping preset, a job) and
mutates it the way hands and editors do (stray characters including NUL, BEL, tabs, a
BOM, YAML indicators and invalid UTF-8 bytes; lines deleted, duplicated, re-indented).
Loading it either succeeds or raises YamlSourceError (shown as file:line:col, exit 2):
any other exception is a traceback a user would see. Bounded examples keep it fast.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfrenew.config import load_config
from sfrenew.jobs import load_jobs
from sfrenew.mapping import load_mapping
from sfrenew.yamlsource import YamlSourceError

ROOT = Path(__file__).resolve().parents[2]
STRAYS = [b"\x00", b"\x07", b"\t", b"\xef\xbb\xbf", b"\xe9", b"\xff", b":", b"- ", b"[",
          b"]", b"{", b"}", b"&a ", b"*a", b"!!", b"!!binary ", b"? ", b"|", b">", b"#",
          b"%YAML 1.1\n", b"---\n", b"'", b'"', b"\n", b"  ", b"0x", b"-1", b"1e999",
          b"2024-13-45", b"null", b"~", b"true", b"5", b"0.05", b"\xc3\xa9"]

_edits = st.lists(st.tuples(st.sampled_from(["insert", "delete", "duplicate", "indent"]),
                            st.integers(min_value=0, max_value=10**6),
                            st.sampled_from(STRAYS)), min_size=1, max_size=6)


def _mutate(raw: bytes, edits: list[tuple[str, int, bytes]]) -> bytes:
    for op, at, stray in edits:
        lines = raw.split(b"\n")
        line = at % len(lines)
        if op == "insert":
            pos = at % (len(raw) + 1)
            raw = raw[:pos] + stray + raw[pos:]
        elif op == "delete":
            raw = b"\n".join(lines[:line] + lines[line + 1:])
        elif op == "duplicate":
            raw = b"\n".join(lines[:line + 1] + lines[line:])
        else:
            raw = b"\n".join([*lines[:line], b"  " + lines[line], *lines[line + 1:]])
    return raw


FUZZ = settings(max_examples=120, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def _loads_or_reports(load: Callable[[Path], object], target: Path) -> None:
    errors = []
    try:
        load(target)
    except YamlSourceError as exc:
        errors = exc.errors
        assert errors, "an error without a location"
    assert all(e.line >= 1 and e.column >= 1 for e in errors)


@FUZZ
@given(edits=_edits, preset=st.sampled_from(["standard.yaml", "cpq.yaml"]))
def test_mapping_loader_reports_never_raises(tmp_path: Path, edits: list[tuple[str, int, bytes]],
                                             preset: str) -> None:
    target = tmp_path / "m.yaml"
    target.write_bytes(_mutate((ROOT / "mappings" / preset).read_bytes(), edits))
    _loads_or_reports(load_mapping, target)


@FUZZ
@given(edits=_edits)
def test_config_loader_reports_never_raises(tmp_path: Path,
                                            edits: list[tuple[str, int, bytes]]) -> None:
    if not (tmp_path / "mappings").exists():
        shutil.copytree(ROOT / "mappings", tmp_path / "mappings")
    target = tmp_path / "config.yaml"
    target.write_bytes(_mutate((ROOT / "config.example.yaml").read_bytes(), edits))
    _loads_or_reports(load_config, target)


@FUZZ
@given(edits=_edits, job=st.sampled_from(["renewals.yaml", "backfill.example.yaml",
                                          "cadence.yaml"]))
def test_job_loader_reports_never_raises(tmp_path: Path, edits: list[tuple[str, int, bytes]],
                                         job: str) -> None:
    folder = tmp_path / "jobs"
    folder.mkdir(exist_ok=True)
    (folder / "job.yaml").write_bytes(_mutate((ROOT / "jobs" / job).read_bytes(), edits))
    _loads_or_reports(load_jobs, folder)


def _jobs_of(path: Path) -> object:
    return load_jobs(path.parent)


@pytest.mark.parametrize("loader", ["mapping", "config", "job"])
def test_a_nested_list_and_an_alias_bomb_in_each_loader(tmp_path: Path, loader: str) -> None:
    for text in ("a: " + "[" * 5000 + "]" * 5000 + "\n",
                 "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
                     f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n"
                     for i in range(8))):
        folder = tmp_path / "jobs"
        folder.mkdir(exist_ok=True)
        target = folder / "x.yaml"
        target.write_text(text, encoding="utf-8")
        load: Callable[[Path], object] = {
            "mapping": load_mapping, "config": load_config, "job": _jobs_of}[loader]
        with pytest.raises(YamlSourceError) as exc:
            load(target)
        assert str(exc.value).startswith(f"{target}:")
