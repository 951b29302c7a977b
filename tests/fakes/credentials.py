"""A service-account key generated at test time, whose token endpoint is a local fake.

`google.auth.default()` reads it from GOOGLE_APPLICATION_CREDENTIALS like a real key: gRPC
calls then carry a self-signed JWT signed with this key, and HTTP clients fetch an access
token from `token_uri` (the local registry fake answers it).
"""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SERVICE_ACCOUNT = "freshet-tests@fake-project.iam.gserviceaccount.com"


def write_service_account_key(path: Path, token_uri: str, project: str = "fake-project") -> Path:
    """Writes a service-account key file (JSON) with a fresh RSA key; returns `path`."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info = {
        "type": "service_account",
        "project_id": project,
        "private_key_id": "fake-key-1",
        "private_key": pem,
        "client_email": SERVICE_ACCOUNT,
        "client_id": "1234567890",
        "token_uri": token_uri,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(info))
    return path
