"""Settings: from `freshet.toml` and `FRESHET_*` environment variables, loaded at the edges.

Nothing reads the environment at import time: the CLI (or a test) calls `load_settings()`
and passes the result down.
"""

from __future__ import annotations

from collections.abc import Collection
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from freshet.errors import ConfigError
from freshet.kfp.settings import KfpSettings
from freshet.ops_settings import OpsSettings
from freshet.trigger.settings import TriggerSettings

DEFAULT_COMPONENTS_IMAGE = "python:3.11-slim"


class Images(BaseSettings):
    """Container images the compiled pipeline names (pin them by digest in CI)."""

    model_config = SettingsConfigDict(extra="forbid")

    components: str = Field(
        default=DEFAULT_COMPONENTS_IMAGE,
        description="Image for the CPU steps (containers/components.Dockerfile).",
    )
    trainer: str = Field(
        default=DEFAULT_COMPONENTS_IMAGE,
        description="Image for the training step (containers/trainer.Dockerfile, CUDA).",
    )


class TrainResources(BaseSettings):
    """Resources of the training task on Vertex (ignored by the local runner).

    With `spot` the task becomes a Vertex AI CustomJob on Spot VMs of `machine_type` (only
    CustomJobs can use Spot capacity); `cpu_limit` and `memory_limit` then do not apply, the
    machine type sets them.
    """

    model_config = SettingsConfigDict(extra="forbid")

    cpu_limit: str = "8"
    memory_limit: str = "32G"
    accelerator_type: str = Field(default="", description="e.g. NVIDIA_L4, NVIDIA_TESLA_T4.")
    accelerator_count: int = Field(default=0, ge=0)
    retries: int = Field(default=2, ge=0, description="Retries of the train task (preemption).")
    retry_backoff_s: int = Field(default=15, ge=0, description="First retry backoff, doubling.")
    spot: bool = Field(default=False, description="Train as a CustomJob on Spot VMs (Vertex).")
    machine_type: str = Field(
        default="",
        description="Compute Engine machine of the Spot CustomJob, e.g. g2-standard-8.",
    )
    boot_disk_size_gb: int = Field(default=100, ge=100, le=65536, description="Spot VM disk.")
    max_run_s: int = Field(
        default=7 * 24 * 3600, gt=0, description="Limit of one CustomJob attempt (spot)."
    )

    @field_validator("machine_type", mode="after")
    @classmethod
    def _check_machine_type(cls, value: str) -> str:
        import re

        if value and not re.match(r"^[a-z][a-z0-9]*-[a-z0-9-]*[a-z0-9]$", value):
            raise ValueError("must be a Compute Engine machine type such as 'g2-standard-8'")
        return value

    @model_validator(mode="after")
    def _spot_needs_a_machine(self) -> TrainResources:
        if self.spot and not self.machine_type:
            raise ValueError(
                "spot needs machine_type, the machine of the Spot VM "
                "(e.g. g2-standard-8 for one NVIDIA_L4)"
            )
        return self


class PredictResources(BaseSettings):
    """Resources of the prediction pipeline's score task on Vertex (ignored by the local runner).

    The score task streams its input, so memory stays bounded; more CPUs run onnxruntime faster.
    """

    model_config = SettingsConfigDict(extra="forbid")

    cpu_limit: str = "4"
    memory_limit: str = "16G"
    retries: int = Field(default=1, ge=0, description="Retries of the score task.")
    retry_backoff_s: int = Field(default=15, ge=0, description="First retry backoff, doubling.")


# Fields (e.g. "gcp.project") the command being loaded needs; see `load_settings(require=...)`.
_REQUIRED: ContextVar[frozenset[str]] = ContextVar("freshet_required", default=frozenset())
_GCP_PATTERNS = {
    "project": (r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$", "a project id such as 'my-project'"),
    "region": (r"^[a-z]+-[a-z]+[0-9]+$", "a region such as 'us-central1'"),
    "pipeline_root": (r"^gs://[a-z0-9][a-z0-9._-]{1,221}[a-z0-9](/.*)?$", "a gs://bucket/path URI"),
    "service_account": (r"^[^@\s]+@[^@\s]+\.[a-z]+$", "a service account email"),
    "network": (
        r"^projects/[^/]+/global/networks/[^/]+$",
        "'projects/PROJECT_NUMBER/global/networks/NAME'",
    ),
    "template_repo": (
        r"^https?://[^/\s]+/[^/\s]+/[^/\s]+$",
        "an https://REGION-kfp.pkg.dev/PROJECT/REPO URL",
    ),
    "api_endpoint": (
        r"^[A-Za-z0-9.-]+(:[0-9]+)?$",
        "a host[:port] such as 'us-central1-aiplatform.googleapis.com'",
    ),
    "experiment": (
        r"^[a-z0-9][a-z0-9-]{0,127}$",
        "a Vertex AI Experiment name: lowercase letters, digits and '-'",
    ),
}
_LABEL = r"^[a-z][a-z0-9_-]{0,62}$"


class GcpSettings(BaseModel):
    """Google Cloud and Vertex AI Pipelines: only the commands that talk to Google Cloud need them.

    Missing values are reported only by commands that need them (`load_settings(require=...)`),
    together with every malformed value.
    """

    model_config = ConfigDict(extra="forbid", validate_default=True)

    project: str | None = Field(default=None, description="Google Cloud project id.")
    region: str | None = Field(default=None, description="Vertex AI region, e.g. us-central1.")
    pipeline_root: str | None = Field(default=None, description="gs:// root of run artifacts.")
    service_account: str | None = Field(default=None, description="Service account runs use.")
    network: str | None = Field(default=None, description="VPC network runs are peered with.")
    template_repo: str | None = Field(
        default=None, description="Artifact Registry KFP repo: https://REGION-kfp.pkg.dev/P/R."
    )
    labels: dict[str, str] = Field(default_factory=dict, description="Labels on every run.")
    git_commit: str | None = Field(default=None, description="Commit label [default: git HEAD].")
    api_endpoint: str | None = Field(default=None, description="Vertex API host[:port] override.")
    poll_seconds: float = Field(default=10.0, gt=0, description="State polling of --wait.")
    retry_seconds: float = Field(default=60.0, gt=0, description="Retry budget on UNAVAILABLE.")
    model_registry: bool = Field(
        default=False, description="Vertex runs register in the Vertex AI Model Registry."
    )
    experiment: str | None = Field(
        default=None, description="Vertex AI Experiment that Vertex runs are logged to."
    )

    @field_validator(*_GCP_PATTERNS, mode="after")
    @classmethod
    def _check(cls, value: str | None, info: ValidationInfo) -> str | None:
        import re

        name = str(info.field_name)
        if value is None:
            if f"gcp.{name}" in _REQUIRED.get():
                env = f"FRESHET_GCP__{name.upper()}"
                raise ValueError(f"required here; set {env} or [gcp] {name} in freshet.toml")
            return None
        pattern, expected = _GCP_PATTERNS[name]
        if not re.match(pattern, value):
            raise ValueError(f"must be {expected}")
        return value

    @field_validator("labels", mode="after")
    @classmethod
    def _check_labels(cls, value: dict[str, str]) -> dict[str, str]:
        import re

        for key, label in value.items():
            if not re.match(_LABEL, key) or not re.match(r"^[a-z0-9_-]{0,63}$", label):
                raise ValueError(
                    f"label {key}={label} must use lowercase letters, digits, '_' and '-' "
                    "(key starting with a letter), at most 63 characters each"
                )
        return value


def _pipeline_name(name: str) -> str:
    import re

    if not re.match(r"^[a-z][a-z0-9_-]{0,99}$", name):
        raise ValueError(
            "a pipeline name must be lowercase letters, digits, '_' and '-', starting with a letter"
        )
    return name


def _pipeline_builder(reference: str) -> str:
    from freshet.references import REFERENCE

    if not REFERENCE.match(reference):
        raise ValueError("must name the pipeline's builder as 'package.module:function'")
    return reference


PipelineName = Annotated[str, AfterValidator(_pipeline_name)]
PipelineBuilder = Annotated[str, AfterValidator(_pipeline_builder)]


class Settings(BaseSettings):
    """All settings of freshet.

    Environment variables use the prefix `FRESHET_` and `__` for nesting, e.g.
    `FRESHET_ROOT=/data/freshet` or `FRESHET_IMAGES__TRAINER=...@sha256:...`.
    """

    model_config = SettingsConfigDict(
        env_prefix="FRESHET_",
        env_nested_delimiter="__",
        toml_file="freshet.toml",
        extra="forbid",
    )

    root: Path = Field(default=Path(".freshet"), description="Local runs, cache and registry.")
    build_dir: Path = Field(default=Path("build/pipelines"), description="Compiled pipelines.")
    images: Images = Field(default_factory=Images)
    train_resources: TrainResources = Field(default_factory=TrainResources)
    predict_resources: PredictResources = Field(default_factory=PredictResources)
    trigger: TriggerSettings = Field(default_factory=TriggerSettings)
    ops: OpsSettings = Field(default_factory=OpsSettings)
    step_cpu_limit: str = "2"
    step_memory_limit: str = "4G"
    runner: Literal["local", "vertex", "kfp"] = Field(
        default="local", description="Where `submit()` runs pipelines (triggers included)."
    )
    # Validated even when absent, so that required-but-missing fields are reported.
    gcp: GcpSettings = Field(default={}, validate_default=True)
    kfp: KfpSettings = Field(default={}, validate_default=True)
    pipelines: dict[PipelineName, PipelineBuilder] = Field(
        default_factory=dict,
        description="The project's own pipelines: name -> 'package.module:build', where "
        "build(settings) returns a kfp pipeline (imported from the working directory).",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Order of precedence: arguments, environment, then `freshet.toml`."""
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


def load_settings(*, require: Collection[str] = (), **overrides: object) -> Settings:
    """Loads settings, reporting every missing or malformed value in one error.

    Args:
        require: Optional fields this command needs, e.g. ``("gcp.project",)``.
        **overrides: Values that take precedence (e.g. from CLI options).

    Returns:
        The validated settings.

    Raises:
        ConfigError: Naming each offending field and value.
    """
    token = _REQUIRED.set(frozenset(require))
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg'].removeprefix('Value error, ')}"
            + ("" if err.get("input") is None else f" (got {err.get('input')!r})")
            for err in exc.errors()
        )
        raise ConfigError(f"Invalid settings: {problems}.") from None
    finally:
        _REQUIRED.reset(token)
