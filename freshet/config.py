"""Settings: from `freshet.toml` and `FRESHET_*` environment variables, loaded at the edges.

Nothing reads the environment at import time: the CLI (or a test) calls `load_settings()`
and passes the result down.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from freshet.errors import ConfigError

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
    """Resources of the training task on Vertex (ignored by the local runner)."""

    model_config = SettingsConfigDict(extra="forbid")

    cpu_limit: str = "8"
    memory_limit: str = "32G"
    accelerator_type: str = ""
    accelerator_count: int = Field(default=0, ge=0)


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
    step_cpu_limit: str = "2"
    step_memory_limit: str = "4G"

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


def load_settings(**overrides: object) -> Settings:
    """Loads settings, reporting every missing or malformed value in one error.

    Args:
        **overrides: Values that take precedence (e.g. from CLI options).

    Returns:
        The validated settings.

    Raises:
        ConfigError: Naming each offending field and value.
    """
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']} (got {err.get('input')!r})"
            for err in exc.errors()
        )
        raise ConfigError(f"Invalid settings: {problems}.") from None
