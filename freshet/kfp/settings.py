"""The `[kfp]` settings: where a Kubeflow Pipelines API is and how freshet authenticates to it.

    runner = "kfp"

    [kfp]
    host = "https://kfp.example.com"          # the API (ml-pipeline-ui service, or an IAP URL)
    namespace = "team-ml"                      # multi-user deployments
    pipeline_root = "gs://team-ml-kfp/root"    # gs://, s3:// or minio://
    # token: FRESHET_KFP__TOKEN, or token_file = "/var/run/secrets/kfp/token"

Missing values are reported only by the commands that need them (`KFP_FIELDS`), together
with every malformed value, in one sentence.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator

# What submitting, following or scheduling a run on KFP needs.
KFP_FIELDS = ("kfp.host", "kfp.pipeline_root")
_PATTERNS = {
    "host": (r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s]*)?$", "an http:// or https:// URL"),
    "namespace": (r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", "a Kubernetes namespace name"),
    "pipeline_root": (
        r"^(gs|s3|minio)://[a-z0-9][a-z0-9._-]{1,221}[a-z0-9](/.*)?$",
        "a gs://, s3:// or minio://bucket/path URI",
    ),
    "claims_root": (
        r"^(gs://[a-z0-9][a-z0-9._-]{1,221}[a-z0-9](/.*)?|file:///.+|/.+)$",
        "a gs:// URI or an absolute directory shared by every submitter",
    ),
    "service_account": (r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$", "a Kubernetes service account"),
    "experiment": (r"^\S(.{0,98}\S)?$", "a name without leading or trailing spaces"),
}


class KfpSettings(BaseModel):
    """Kubeflow Pipelines (API v2beta1): only the commands that talk to it need these."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    host: str | None = Field(default=None, description="URL of the KFP API.")
    namespace: str | None = Field(default=None, description="Profile namespace (multi-user).")
    experiment: str = Field(default="freshet", description="Experiment runs are filed under.")
    pipeline_root: str | None = Field(default=None, description="Root of run artifacts.")
    claims_root: str | None = Field(
        default=None,
        description="Where run claims are created [default: <pipeline_root>/claims; needed "
        "for s3:// and minio:// roots].",
    )
    service_account: str | None = Field(default=None, description="Kubernetes SA of runs.")
    token: SecretStr | None = Field(default=None, description="Bearer token (FRESHET_KFP__TOKEN).")
    token_file: Path | None = Field(
        default=None, description="Service-account token file (projected volume)."
    )
    client_id: str | None = Field(default=None, description="IAP OAuth client id.")
    poll_seconds: float = Field(default=5.0, gt=0, description="State polling of --wait.")
    timeout_seconds: float = Field(default=10.0, gt=0, description="Timeout of one API call.")

    @field_validator(*_PATTERNS, mode="after")
    @classmethod
    def _check(cls, value: str | None, info: ValidationInfo) -> str | None:
        from freshet.config import _REQUIRED  # set by load_settings(require=...)

        name = str(info.field_name)
        if value is None:
            if f"kfp.{name}" in _REQUIRED.get():
                env = f"FRESHET_KFP__{name.upper()}"
                raise ValueError(f"required here; set {env} or [kfp] {name} in freshet.toml")
            return None
        pattern, expected = _PATTERNS[name]
        if not re.match(pattern, value):
            raise ValueError(f"must be {expected}")
        return value

    def resolved_claims_root(self) -> str:
        """Where claims go: `claims_root`, else `<pipeline_root>/claims` for a gs:// root.

        Raises:
            ConfigError: The pipeline root is s3:// or minio:// and no claims root is set.
        """
        from freshet.errors import ConfigError

        if self.claims_root:
            return self.claims_root.rstrip("/")
        root = str(self.pipeline_root or "")
        if not root.startswith("gs://"):
            raise ConfigError(
                f"Run claims cannot be created under '{root}': set [kfp] claims_root to a "
                "gs:// URI or a directory every submitter shares."
            )
        return f"{root.rstrip('/')}/claims"
