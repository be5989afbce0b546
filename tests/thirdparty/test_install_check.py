"""The suite skips without its npm install locally, and fails without it in CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.thirdparty import conftest


def test_missing_install_skips_locally(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest, "NODE_MODULES", tmp_path / "node_modules")
    monkeypatch.delenv(conftest.REQUIRED_VARIABLE, raising=False)

    with pytest.raises(pytest.skip.Exception, match="npm ci --prefix tests/thirdparty"):
        conftest.require_install()


def test_missing_install_fails_when_required(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest, "NODE_MODULES", tmp_path / "node_modules")
    monkeypatch.setenv(conftest.REQUIRED_VARIABLE, "1")

    with pytest.raises(pytest.fail.Exception, match="must run"):
        conftest.require_install()
