"""TLS material and org identity: generated once per data dir, reused, private keys 0600."""

from __future__ import annotations

import stat
from pathlib import Path

from sfrenew.localorg.identity import load_or_create_identity
from sfrenew.localorg.tls import ensure_certificates, server_context


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_certificates_are_created_once_and_reused(tmp_path: Path) -> None:
    files = ensure_certificates(tmp_path)
    ca = files.ca_file.read_bytes()
    cert = files.cert_file.read_bytes()
    assert _mode(files.ca_key_file) == 0o600
    assert _mode(files.key_file) == 0o600
    again = ensure_certificates(tmp_path)
    assert again.ca_file.read_bytes() == ca
    assert again.cert_file.read_bytes() == cert
    server_context(again)  # loads


def test_server_certificate_is_reissued_from_the_same_ca(tmp_path: Path) -> None:
    files = ensure_certificates(tmp_path)
    ca = files.ca_file.read_bytes()
    files.cert_file.unlink()
    again = ensure_certificates(tmp_path)
    assert again.ca_file.read_bytes() == ca
    assert again.cert_file.exists()


def test_identity_is_random_persisted_and_private(tmp_path: Path) -> None:
    first = load_or_create_identity(tmp_path)
    other = load_or_create_identity(tmp_path / "other")
    assert first.client_secret != other.client_secret
    assert first.password != other.password
    assert first.org_id.startswith("00D")
    assert len(first.org_id) == 18
    assert load_or_create_identity(tmp_path) == first
    assert _mode(tmp_path / "credentials.json") == 0o600
    assert _mode(first.jwt_private_key_file) == 0o600
    assert first.client_secret not in repr(first)
    assert first.password not in repr(first)
