"""Alerts to the team chat: one JSON post to a Slack- or Discord-compatible incoming webhook.

Posting retries transient failures (connection errors, timeouts, 429, 5xx) with exponential
backoff within a total deadline, then gives up with a warning in the log. It never raises:
an unreachable chat must not fail a pipeline or a check.

The webhook is usually a secret reference (`freshet.secrets`), resolved just before posting;
its URL (whose path is its secret) never appears in a log line or a warning: they name the
reference, or only the host of a literal URL.
"""

from __future__ import annotations

import logging
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel

from freshet.ops_settings import OpsSettings

log = logging.getLogger(__name__)

SLACK_LIMIT = 3000
DISCORD_LIMIT = 2000
_ICON = {"run_failed": ":red_circle:", "sla_breach": ":hourglass:"}


class Alert(BaseModel):
    """What happened, where, and where to look."""

    kind: Literal["run_failed", "sla_breach"]
    title: str
    pipeline: str
    run_id: str | None = None
    step: str | None = None
    error: str | None = None
    report: str | None = None
    details: dict[str, str] = {}

    def text(self) -> str:
        """The alert as a few lines of chat markdown (Slack mrkdwn and Discord both read it)."""
        lines = [f"{_ICON.get(self.kind, '')} *{self.title}*".strip()]
        fields = {
            "pipeline": self.pipeline,
            "run": self.run_id,
            "step": self.step,
            **self.details,
            "report": self.report,
        }
        lines += [f"*{name}:* {value}" for name, value in fields.items() if value]
        if self.error:
            fence = "`" * 3
            lines.append(f"*error:* {fence}{self.error.replace(fence, '´´´')}{fence}")
        return "\n".join(lines)


class _Transient(Exception):
    """A failure worth another attempt."""


def webhook_format(url: str, configured: str = "auto") -> Literal["slack", "discord"]:
    """The payload shape for a webhook URL: Discord's for discord.com hosts, else Slack's."""
    if configured in ("slack", "discord"):
        return configured  # type: ignore[return-value]
    host = urlsplit(url).hostname or ""
    return "discord" if host.endswith(("discord.com", "discordapp.com")) else "slack"


def payload(alert: Alert, shape: Literal["slack", "discord"]) -> dict[str, Any]:
    """The JSON body for one alert.

    Slack's incoming webhooks read `text`; Discord's read `content` (at most 2000 characters)
    and would ping on @everyone in an error message unless mentions are disabled.
    """
    text = alert.text()
    if shape == "discord":
        return {"content": _clip(text, DISCORD_LIMIT), "allowed_mentions": {"parse": []}}
    return {"text": _clip(text, SLACK_LIMIT)}


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 4]
    return cut + ("…```" if cut.count("```") % 2 == 1 else "…")


def post_alert(alert: Alert, ops: OpsSettings, client: httpx.Client | None = None) -> bool:
    """Posts an alert to the configured webhook; never raises.

    Args:
        alert: What to say.
        ops: Webhook (a secret reference, resolved here, or a literal URL), payload shape,
            per-attempt timeout and total retry deadline.
        client: HTTP client to use [default: a new one].

    Returns:
        True when the webhook accepted the alert; False when none is configured or it
        could not be delivered (logged as a warning).
    """
    from freshet.secrets import redact
    from freshet.secrets.references import is_reference
    from freshet.secrets.resolve import resolve

    if not ops.webhook_url:
        log.info("No webhook configured; alert not sent: %s", alert.title)
        return False
    target = ops.webhook_url
    # The path of a webhook URL is its secret: say the reference, or a literal URL's host.
    where = target if is_reference(target) else f"{urlsplit(target).hostname} webhook"
    try:
        if is_reference(target):
            url = resolve(target, endpoint=ops.secret_manager_endpoint)
        else:
            url = target
            redact.register(url, where)
            redact.install()
        body = payload(alert, webhook_format(url, ops.webhook_format))
        own = client is None
        http = client or httpx.Client()
        try:
            _post_with_retry(http, url, body, ops)
        finally:
            if own:
                http.close()
    except Exception as exc:  # noqa: BLE001  (an alert must never fail its caller)
        reason = redact.scrub(_describe(exc))
        log.warning("Alert to %s not delivered (%s): %s", where, reason, alert.title)
        return False
    log.info("Alert posted to %s: %s", where, alert.title)
    return True


def _post_with_retry(http: httpx.Client, url: str, body: dict[str, Any], ops: OpsSettings) -> None:
    from google.api_core import retry as retries

    attempts = 0

    def attempt() -> None:
        nonlocal attempts
        attempts += 1
        try:
            response = http.post(url, json=body, timeout=ops.webhook_timeout_s)
        except httpx.TransportError as exc:
            raise _Transient(f"{type(exc).__name__} on attempt {attempts}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise _Transient(f"HTTP {response.status_code} on attempt {attempts}")
        if response.status_code >= 400:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")

    retry = retries.Retry(
        predicate=retries.if_exception_type(_Transient),
        initial=0.2,
        maximum=5.0,
        multiplier=2.0,
        timeout=ops.webhook_deadline_s,
        on_error=lambda exc: log.info("Alert attempt failed, retrying: %s", exc),
    )
    retry(attempt)()


def _describe(exc: BaseException) -> str:
    cause = exc.__cause__
    if cause is not None and not isinstance(exc, _Transient | RuntimeError):
        return f"{exc}; last: {cause}"
    return str(exc)
