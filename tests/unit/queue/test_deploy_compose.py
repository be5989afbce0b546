"""deploy/compose.yaml: PostgreSQL, scheduler replicas and workers, with a config that
loads as a deployment where the image installs the mapping presets."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import yaml

from sfrenew.queue import load_deployment

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text("utf-8"))
    return data


def test_the_compose_file_runs_postgres_schedulers_and_workers() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "scheduler", "worker"}
    assert services["scheduler"]["command"][:1] == ["run"]
    assert services["worker"]["command"][:1] == ["worker"]
    assert services["scheduler"]["deploy"]["replicas"] == 2
    for name in ("scheduler", "worker"):
        assert services[name]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
        mounts = dict(m.rsplit(":", 2)[:2] for m in services[name]["volumes"]
                      if m.startswith("./") or m.startswith("../"))
        assert mounts["./config.postgres.yaml"] == "/etc/sfrenew/config.yaml"
        assert (DEPLOY / "config.postgres.yaml").is_file()
    # Workers share no state volume: a chunk retried on another worker reads its plan
    # back from PostgreSQL (ADR 0017).
    assert not any(m.endswith(":/var/lib/sfrenew") for m in services["worker"]["volumes"])
    assert "state" not in (_compose().get("volumes") or {})


def test_its_config_loads_as_a_deployment(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "mappings", tmp_path / "opt/sfrenew/mappings")
    shutil.copytree(ROOT / "jobs", tmp_path / "etc/sfrenew/jobs")
    text = (DEPLOY / "config.postgres.yaml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^(\s*)(state_dir|mappings|jobs_dir): /", rf"\1\2: {tmp_path}/", text)
    config = tmp_path / "etc/sfrenew/config.yaml"
    config.write_text(text, encoding="utf-8")
    deployment = load_deployment([config])
    acme = deployment.org("acme")
    assert deployment.queue_url == "postgresql+psycopg://sfrenew:sfrenew@postgres:5432/sfrenew"
    assert acme.config.queue.concurrency == 4
    assert acme.job("renewals") is not None
