"""A self-signed certificate for localhost, generated at test time."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class SelfSigned:
    """PEM key and certificate, and the certificate's path (the clients' trusted root)."""

    key_pem: bytes
    cert_pem: bytes
    cert_path: Path


def self_signed(
    common_name: str, names: list[x509.GeneralName] | None = None, ca: bool = False
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A fresh RSA key and a self-signed certificate for it, valid from yesterday to tomorrow."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if ca:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=None), critical=True
        )
    return key, builder.sign(key, hashes.SHA256())


def self_signed_localhost(directory: Path) -> SelfSigned:
    """Creates a key and a certificate valid for `localhost` and 127.0.0.1 (a trusted root)."""
    loopback = x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
    key, cert = self_signed("localhost", [x509.DNSName("localhost"), loopback], ca=True)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    directory.mkdir(parents=True, exist_ok=True)
    cert_path = directory / "localhost.pem"
    cert_path.write_bytes(cert_pem)
    return SelfSigned(key_pem=key_pem, cert_pem=cert_pem, cert_path=cert_path)
