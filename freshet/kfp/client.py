"""The `kfp.Client` freshet talks to Kubeflow Pipelines with, made so that it cannot surprise.

`kfp.Client` 2.17 has traps this module closes before handing a client out:

* its constructor calls healthz and, with a wrong token, retries 5 times 5 s apart with a
  traceback each time: freshet asks healthz once itself (`probe`) and turns 401/403 into one
  sentence about the token, an unreachable host into one sentence about the host;
* it prints "Experiment details: URL" / "Run details: URL" to stdout: every call goes through
  `quiet()`, which sends those prints to stderr, so JSON on stdout stays JSON;
* hidden inputs: freshet passes host, token and namespace explicitly, so
  `KF_PIPELINES_ENDPOINT` is never used; it never calls the methods that read the experiment
  variables (`KF_PIPELINES_*_EXPERIMENT_NAME`); it ignores `~/.config/kfp/context.json`
  (namespace, cookies, headers) and never writes it; and it refuses to start when the OAuth
  client variables (`KF_PIPELINES_IAP_OAUTH2_CLIENT_ID`, `KF_PIPELINES_APP_OAUTH2_*`) are set,
  since they would silently replace the token freshet was configured with;
* a host that is not a URL becomes `https://...` with only a warning: the settings validate it.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from freshet.config import Settings
from freshet.errors import ConfigError, FreshetError
from freshet.kfp.settings import KFP_FIELDS, KfpSettings

HIDDEN_AUTH_VARIABLES = (
    "KF_PIPELINES_IAP_OAUTH2_CLIENT_ID",
    "KF_PIPELINES_APP_OAUTH2_CLIENT_ID",
    "KF_PIPELINES_APP_OAUTH2_CLIENT_SECRET",
)


def require(settings: Settings) -> KfpSettings:
    """The `[kfp]` settings when everything a run needs is set.

    Raises:
        ConfigError: Naming every missing field (and how to set it) in one sentence.
    """
    missing = [name for name in KFP_FIELDS if getattr(settings.kfp, name.split(".")[1]) is None]
    if missing:
        how = ", ".join(f"{n} (FRESHET_KFP__{n.split('.')[1].upper()})" for n in missing)
        raise ConfigError(f"Kubeflow Pipelines needs settings that are not set: {how}.")
    return settings.kfp


def bearer_token(kfp: KfpSettings, environ: Mapping[str, str]) -> str | None:
    """The bearer token from `kfp.token` or `kfp.token_file` (never both).

    Raises:
        ConfigError: Both are set, the file cannot be read or is empty, or a hidden OAuth
            variable of kfp.Client is set.
    """
    hidden = [name for name in HIDDEN_AUTH_VARIABLES if environ.get(name)]
    if hidden:
        raise ConfigError(
            f"{', '.join(hidden)} is set: freshet takes Kubeflow Pipelines credentials only "
            "from [kfp] (token, token_file, client_id); unset it."
        )
    if kfp.token is not None and kfp.token_file is not None:
        raise ConfigError(
            "Both kfp.token (FRESHET_KFP__TOKEN) and kfp.token_file are set: keep one."
        )
    if kfp.token is not None:
        token = kfp.token.get_secret_value().strip()
        if not token or any(c.isspace() for c in token):
            raise ConfigError("kfp.token (FRESHET_KFP__TOKEN) must be one word without spaces.")
        return token
    if kfp.token_file is not None:
        try:
            token = kfp.token_file.read_text().strip()
        except OSError as exc:
            raise ConfigError(
                f"The token file '{kfp.token_file}' (kfp.token_file) cannot be read: "
                f"{exc.strerror}."
            ) from None
        if not token:
            raise ConfigError(f"The token file '{kfp.token_file}' (kfp.token_file) is empty.")
        return token
    return None


def probe(kfp: KfpSettings, token: str | None) -> dict[str, Any]:
    """Asks the API's healthz once; the answer, or one sentence saying what is wrong.

    Raises:
        ConfigError: The token is refused (401/403), or the host serves no KFP v2beta1 API.
        FreshetError: The host cannot be reached.
    """
    url = f"{str(kfp.host).rstrip('/')}/apis/v2beta1/healthz"
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=kfp.timeout_seconds) as answer:
            body: dict[str, Any] = json.loads(answer.read() or b"{}")
            return body
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            where = "kfp.token_file" if kfp.token_file else "FRESHET_KFP__TOKEN"
            what = "refused the token" if token else "needs a token"
            raise ConfigError(
                f"Kubeflow Pipelines at {kfp.host} {what} (HTTP {exc.code}): check {where}."
            ) from None
        raise ConfigError(
            f"{kfp.host} does not answer as a Kubeflow Pipelines API (HTTP {exc.code} on "
            "/apis/v2beta1/healthz): check kfp.host."
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FreshetError(
            f"Kubeflow Pipelines at {kfp.host} cannot be reached: {reason}."
        ) from None


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """kfp.Client's prints go to stderr, its FutureWarning nowhere."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
        warnings.simplefilter("ignore", FutureWarning)
        yield


def make_client(kfp: KfpSettings, environ: Mapping[str, str] | None = None) -> Any:
    """A `kfp.Client` for the settings, after one quick healthz of freshet's own.

    Raises:
        ConfigError: See `bearer_token` and `probe`; or the deployment is multi-user and no
            namespace is set.
        FreshetError: The host cannot be reached.
    """
    token = bearer_token(kfp, os.environ if environ is None else environ)
    if kfp.client_id and token is None:
        from kfp.client import auth

        with quiet():
            token, _ = auth.get_auth_token(kfp.client_id, None, None)
    health = probe(kfp, token)
    if health.get("multi_user") and not kfp.namespace:
        raise ConfigError(
            f"Kubeflow Pipelines at {kfp.host} is multi-user: set kfp.namespace "
            "(FRESHET_KFP__NAMESPACE) to your profile's namespace."
        )
    client_class = _client_class()
    credentials = None
    if kfp.token_file is not None:
        from kfp.client.set_volume_credentials import ServiceAccountTokenVolumeCredentials

        credentials = ServiceAccountTokenVolumeCredentials(str(kfp.token_file))
    with quiet():
        return client_class(
            host=str(kfp.host).rstrip("/"),
            namespace=kfp.namespace or "kubeflow",  # "kubeflow" means "none given" to kfp
            existing_token=None if credentials else token,
            credentials=credentials,
        )


def _client_class() -> type[Any]:
    import kfp

    class Client(kfp.Client):  # type: ignore[misc]
        """kfp.Client without ~/.config/kfp/context.json (freshet's settings only)."""

        def _load_context_setting_or_default(self) -> None:
            self._context_setting = {"namespace": ""}

        def set_user_namespace(self, namespace: str) -> None:
            self._context_setting["namespace"] = namespace

    return Client


class Conflict(FreshetError):
    """The API answered 409: the thing exists already (a race with another submitter)."""


@dataclass
class KfpSession:
    """A client with the settings it was made from and the experiment runs go to."""

    kfp: KfpSettings
    client: Any
    _experiment_id: str | None = None

    @classmethod
    def open(cls, settings: Settings) -> KfpSession:
        """Checks the settings, then makes the client (one healthz call)."""
        kfp = require(settings)
        return cls(kfp=kfp, client=make_client(kfp))

    @property
    def host(self) -> str:
        """The API URL, without a trailing slash."""
        return str(self.kfp.host).rstrip("/")

    @property
    def namespace(self) -> str | None:
        """The profile namespace, if multi-user."""
        return self.kfp.namespace

    def experiment_id(self) -> str:
        """The id of `kfp.experiment`, created on first use (get-or-create by name)."""
        if self._experiment_id is None:
            what = f"find or create the experiment '{self.kfp.experiment}'"
            try:
                experiment = self.call(
                    what,
                    self.client.create_experiment,
                    name=self.kfp.experiment,
                    namespace=self.namespace,
                )
            except Conflict:  # created by another submitter between kfp's get and create
                experiment = self.call(
                    what,
                    self.client.get_experiment,
                    experiment_name=self.kfp.experiment,
                    namespace=self.namespace,
                )
            self._experiment_id = str(experiment.experiment_id)
        return self._experiment_id

    def run_url(self, kfp_run_id: str) -> str:
        """Where a person follows a run in the KFP UI."""
        return f"{self.host}/#/runs/details/{kfp_run_id}"

    def call(self, what: str, method: Any, *args: Any, **kwargs: Any) -> Any:
        """Calls a client method quietly; API errors become one sentence.

        Raises:
            ConfigError: The token was refused.
            BadInput: The API refused the request as invalid (400) or found nothing (404).
            FreshetError: Any other refusal or network failure.
        """
        from kfp_server_api.exceptions import ApiException  # type: ignore[import-untyped]
        from urllib3.exceptions import HTTPError

        from freshet.errors import BadInput

        try:
            with quiet():
                return method(*args, **kwargs)
        except ApiException as exc:
            message = _message(exc)
            if exc.status in (401, 403):
                raise ConfigError(
                    f"Kubeflow Pipelines at {self.host} refused the token (HTTP {exc.status}) "
                    f"to {what}."
                ) from None
            if exc.status == 409:
                raise Conflict(f"Kubeflow Pipelines could not {what}: {message}") from None
            if exc.status in (400, 404):
                raise BadInput(f"Kubeflow Pipelines could not {what}: {message}") from None
            raise FreshetError(
                f"Kubeflow Pipelines could not {what} (HTTP {exc.status}): {message}"
            ) from None
        except (OSError, HTTPError) as exc:
            raise FreshetError(f"Kubeflow Pipelines could not {what}: {exc}.") from None


def _message(exc: Any) -> str:
    try:
        text = str(json.loads(exc.body).get("message") or exc.reason)
    except (TypeError, ValueError, AttributeError):
        text = str(exc.reason)
    return text if text.endswith(".") else f"{text}."
