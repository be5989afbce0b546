"""TLS for the local org: a self-signed CA and a server certificate it signs.

simple-salesforce always talks ``https://``, so the local org needs a certificate a
client can trust. On first start we create a private CA (``ca.pem``, ``ca-key.pem``)
and a server certificate for ``127.0.0.1`` and ``localhost`` signed by it
(``server.pem``, ``server-key.pem``); clients trust ``ca.pem``. Later starts reuse the
files, so a client configured once keeps working across restarts. Private keys are
written 0600.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
SERVER_CERT_FILE = "server.pem"
SERVER_KEY_FILE = "server-key.pem"

_CA_LIFETIME = timedelta(days=3650)
# Servers certificates longer than 825 days are refused by some TLS stacks (macOS).
_SERVER_LIFETIME = timedelta(days=825)
_RENEW_BEFORE = timedelta(days=30)


@dataclass(frozen=True)
class TlsFiles:
    """Where the certificate material of one data dir lives."""

    ca_file: Path
    ca_key_file: Path
    cert_file: Path
    key_file: Path


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` readable by the owner only (created 0600, never wider)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(path, 0o600)  # O_CREAT's mode does not apply to a file that already existed


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _new_ca(now: datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sfrenew local org"),
        x509.NameAttribute(NameOID.COMMON_NAME, "sfrenew local org CA"),
    ])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + _CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _new_server_cert(
    ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, now: datetime
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + _SERVER_LIFETIME)
        .add_extension(
            x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.DNSName("localhost"),
            ]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path} is not an EC private key")
    return key


def ensure_certificates(data_dir: Path, *, now: datetime | None = None) -> TlsFiles:
    """Create the CA and server certificate in ``data_dir`` unless they are there and valid.

    The CA is kept as long as its files exist (clients may already trust it); the
    server certificate is re-issued from it when missing or about to expire.
    """
    now = now or datetime.now(UTC)
    files = TlsFiles(
        ca_file=data_dir / CA_FILE,
        ca_key_file=data_dir / CA_KEY_FILE,
        cert_file=data_dir / SERVER_CERT_FILE,
        key_file=data_dir / SERVER_KEY_FILE,
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    if files.ca_file.exists() and files.ca_key_file.exists():
        ca_key = _load_key(files.ca_key_file)
        ca_cert = x509.load_pem_x509_certificate(files.ca_file.read_bytes())
        if ca_cert.not_valid_after_utc - _RENEW_BEFORE < now:
            ca_key, ca_cert = _new_ca(now)
            _write_ca(files, ca_key, ca_cert)
            files.cert_file.unlink(missing_ok=True)
    else:
        ca_key, ca_cert = _new_ca(now)
        _write_ca(files, ca_key, ca_cert)
        files.cert_file.unlink(missing_ok=True)
    if not _server_cert_usable(files, ca_cert, now):
        key, cert = _new_server_cert(ca_key, ca_cert, now)
        write_private(files.key_file, _key_pem(key))
        # The chain (leaf, then CA) so clients that only trust the CA can build the path.
        files.cert_file.write_bytes(
            cert.public_bytes(serialization.Encoding.PEM)
            + ca_cert.public_bytes(serialization.Encoding.PEM)
        )
    return files


def _write_ca(files: TlsFiles, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
    write_private(files.ca_key_file, _key_pem(key))
    files.ca_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _server_cert_usable(files: TlsFiles, ca_cert: x509.Certificate, now: datetime) -> bool:
    if not (files.cert_file.exists() and files.key_file.exists()):
        return False
    cert = x509.load_pem_x509_certificate(files.cert_file.read_bytes())
    return cert.issuer == ca_cert.subject and cert.not_valid_after_utc - _RENEW_BEFORE > now


def server_context(files: TlsFiles) -> ssl.SSLContext:
    """The server-side SSL context for the local org."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(files.cert_file, files.key_file)
    return context
