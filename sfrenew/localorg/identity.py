"""The local org's identity: org Id, connected app and integration user credentials.

Generated once per data dir (random, never hard-coded) and persisted in
``credentials.json`` (0600), so clients configured from ``connection.json`` keep
working across restarts. The JWT bearer flow needs a key registered for the
connected app: we generate an RSA key pair, hand the private half to clients
(``jwt_key.pem``, 0600) and verify assertions with the public half
(``jwt_key.pub.pem``).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sfrenew.localorg.ids import make_id
from sfrenew.localorg.tls import write_private

CREDENTIALS_FILE = "credentials.json"
JWT_PRIVATE_KEY_FILE = "jwt_key.pem"
JWT_PUBLIC_KEY_FILE = "jwt_key.pub.pem"
_FORMAT_VERSION = 1
_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class OrgIdentity:
    """Who the org is and who may log in to it."""

    org_id: str
    client_id: str
    client_secret: str
    username: str
    password: str
    jwt_private_key_file: Path
    jwt_public_key_pem: bytes

    def __repr__(self) -> str:
        # Never let a secret reach a log line through repr().
        return f"OrgIdentity(org_id={self.org_id!r}, username={self.username!r})"


def _random_text(length: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def _new_identity_data() -> dict[str, Any]:
    org_number = secrets.randbelow(62**6)
    suffix = _random_text(6).lower()
    return {
        "version": _FORMAT_VERSION,
        "org_id": make_id("00D", org_number),
        # Salesforce consumer keys start with 3MVG9 and are 85 characters long.
        "client_id": "3MVG9" + _random_text(80),
        "client_secret": _random_text(64),
        "username": f"integration.{suffix}@sfrenew.localorg",
        "password": secrets.token_urlsafe(18),
    }


def _ensure_jwt_keys(data_dir: Path) -> bytes:
    private_path = data_dir / JWT_PRIVATE_KEY_FILE
    public_path = data_dir / JWT_PUBLIC_KEY_FILE
    if private_path.exists() and public_path.exists():
        return public_path.read_bytes()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    write_private(private_path, key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    public_path.write_bytes(public_pem)
    return public_pem


def load_or_create_identity(data_dir: Path) -> OrgIdentity:
    """The identity stored in ``data_dir``, created on first use."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / CREDENTIALS_FILE
    if path.exists():
        data = json.loads(path.read_text("utf-8"))
        if data.get("version") != _FORMAT_VERSION:
            raise ValueError(
                f"{path} has format version {data.get('version')!r}; this sfrenew reads "
                f"version {_FORMAT_VERSION}. Remove the data dir or use a matching sfrenew."
            )
    else:
        data = _new_identity_data()
        write_private(path, json.dumps(data, indent=2).encode())
    public_pem = _ensure_jwt_keys(data_dir)
    return OrgIdentity(
        org_id=data["org_id"],
        client_id=data["client_id"],
        client_secret=data["client_secret"],
        username=data["username"],
        password=data["password"],
        jwt_private_key_file=data_dir / JWT_PRIVATE_KEY_FILE,
        jwt_public_key_pem=public_pem,
    )


def identity_json(identity: OrgIdentity) -> dict[str, Any]:
    """A JSON-ready dict of the identity (secrets included: for 0600 files only)."""
    data = asdict(identity)
    data["jwt_private_key_file"] = str(identity.jwt_private_key_file)
    data.pop("jwt_public_key_pem")
    return data
