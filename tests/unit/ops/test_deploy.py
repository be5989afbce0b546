"""deploy/: the container and systemd examples work as written (issue 16).

Both read /etc/sfrenew/config.yaml; a config's relative paths are relative to its own
folder, where no mappings are installed, so the examples' config (deploy/config.yaml)
must name the mapping presets where the image and the unit install them. This test reads
the paths out of the Containerfile and the unit, builds them under a temporary root, and
loads the config there.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

from sfrenew.config import load_config

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"


def _containerfile() -> dict[str, str]:
    text = (DEPLOY / "Containerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    workdir = re.search(r"^WORKDIR (\S+)", text, re.MULTILINE)
    assert workdir is not None
    copies = dict(re.findall(r"^COPY (\S+) (\S+)$", text, re.MULTILINE))
    cmd = re.search(r"^CMD (\[.*\])", text, re.MULTILINE)
    assert cmd is not None
    args = [a.strip(' "') for a in cmd.group(1).strip("[]").split(",")]
    mappings = copies["mappings"]
    return {"mappings": mappings if mappings.startswith("/")
            else f"{workdir.group(1)}/{mappings.removeprefix('./')}",
            "config": copies["deploy/config.yaml"],
            "cmd_config": args[args.index("--config") + 1]}


def _unit() -> dict[str, str]:
    text = (DEPLOY / "sfrenew.service").read_text(encoding="utf-8").replace("\\\n", " ")
    workdir = re.search(r"^WorkingDirectory=(\S+)", text, re.MULTILINE)
    start = re.search(r"^ExecStart=(.*)$", text, re.MULTILINE)
    assert workdir is not None
    assert start is not None
    args = shlex.split(start.group(1))
    return {"mappings": f"{workdir.group(1)}/mappings",
            "config": args[args.index("--config") + 1]}


def _installed(tmp_path: Path, *, config_at: str, mappings_at: str) -> Path:
    """The deploy config and the mapping presets where an example puts them, under
    ``tmp_path`` as the file system's root; the config's absolute paths follow."""
    shutil.copytree(ROOT / "mappings", tmp_path / mappings_at.lstrip("/"))
    text = (DEPLOY / "config.yaml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^(state_dir|mappings): /", rf"\1: {tmp_path}/", text)
    config = tmp_path / config_at.lstrip("/")
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(text, encoding="utf-8")
    return config


def test_the_container_finds_its_mappings(tmp_path: Path) -> None:
    paths = _containerfile()
    assert paths["cmd_config"] == paths["config"]  # the config the image ships is the one run
    config = load_config(_installed(tmp_path, config_at=paths["config"],
                                    mappings_at=paths["mappings"]))
    assert config.mapping_path == tmp_path / paths["mappings"].lstrip("/") / "standard.yaml"
    assert config.state_dir == tmp_path / "var/lib/sfrenew"


def test_the_systemd_unit_finds_its_mappings(tmp_path: Path) -> None:
    paths = _unit()
    config = load_config(_installed(tmp_path, config_at=paths["config"],
                                    mappings_at=paths["mappings"]))
    assert config.mapping_path.exists()
    assert config.mapping_path.parent == tmp_path / paths["mappings"].lstrip("/")


def test_the_container_publishes_metrics_beyond_loopback() -> None:
    text = (DEPLOY / "Containerfile").read_text(encoding="utf-8")
    assert "ENV SFRENEW_METRICS_HOST=0.0.0.0" in text
    assert '"--metrics-port", "9464"' in text
