"""Verifies the OIDC token Pub/Sub push attaches (`Authorization: Bearer <JWT>`).

Signature and expiry are checked against Google's certs (fetched from `certs_url` and cached;
fetched again when a token names an unknown key), then issuer, audience and email. A missing
or unverifiable token is 401; a valid token for another audience or caller is 403.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from typing import Any

GOOGLE_ISSUERS = ("accounts.google.com", "https://accounts.google.com")
_CERTS_TTL_S = 3600.0


class AuthFailure(Exception):
    """The request may not call the endpoint: `status` is 401 or 403."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class CertCache:
    """Google's public signing certs (kid -> PEM), cached for an hour."""

    def __init__(self, certs_url: str) -> None:
        self.certs_url = certs_url
        self._certs: dict[str, str] = {}
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def get(self, kid: str | None) -> Mapping[str, str]:
        """The certs, refreshed when stale or when `kid` is not among them."""
        with self._lock:
            stale = time.monotonic() - self._fetched_at > _CERTS_TTL_S
            if stale or (kid is not None and kid not in self._certs):
                self._certs = self._fetch()
                self._fetched_at = time.monotonic()
            return dict(self._certs)

    def _fetch(self) -> dict[str, str]:
        import google.auth.transport.requests

        request = google.auth.transport.requests.Request()
        response = request(self.certs_url, method="GET")
        if response.status != 200:
            raise AuthFailure(401, f"Could not fetch signing certs from {self.certs_url}.")
        certs: dict[str, str] = json.loads(response.data)
        return certs


class PushVerifier:
    """Checks push requests against the configured audience and service accounts."""

    def __init__(
        self, audience: str, allowed_emails: list[str], certs: CertCache, clock_skew_s: int = 10
    ) -> None:
        self.audience = audience
        self.allowed_emails = set(allowed_emails)
        self._certs = certs
        self._skew = clock_skew_s

    def verify(self, authorization: str | None) -> dict[str, Any]:
        """Returns the token's claims.

        Raises:
            AuthFailure: 401 without a valid token, 403 for another audience or caller.
        """
        from google.auth import jwt

        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise AuthFailure(401, "The request has no bearer token.")
        try:
            kid = jwt.decode_header(token).get("kid")  # type: ignore[no-untyped-call]
            claims: dict[str, Any] = jwt.decode(  # type: ignore[no-untyped-call]
                token, certs=self._certs.get(kid), clock_skew_in_seconds=self._skew
            )
        except (ValueError, KeyError) as exc:
            raise AuthFailure(401, f"The bearer token is not valid: {exc}") from None
        if claims.get("iss") not in GOOGLE_ISSUERS:
            raise AuthFailure(401, f"The token's issuer {claims.get('iss')!r} is not Google.")
        if claims.get("aud") != self.audience:
            raise AuthFailure(403, f"The token is for audience {claims.get('aud')!r}.")
        email = claims.get("email")
        if not email or claims.get("email_verified") is not True:
            raise AuthFailure(403, "The token carries no verified email.")
        if self.allowed_emails and email not in self.allowed_emails:
            raise AuthFailure(403, f"The caller {email} is not allowed.")
        return claims
