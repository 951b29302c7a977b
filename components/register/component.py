"""KFP wrapper of the register step (runs only when the gate passed)."""

from typing import Any

from kfp import dsl
from kfp.dsl import Artifact, Input, Model


def register(
    model: Input[Model],
    evaluation: Input[Artifact],
    registry_uri: str,
    model_name: str,
    data_version: str,
    run_id: str,
    serving_image: str = "",
    git_commit: str = "",
    template_version: str = "",
) -> int:
    """Registers the model and moves the champion alias; returns the version number."""
    from freshet.components.evaluate.core import Evaluation
    from freshet.components.register.core import register as run
    from freshet.errors import FreshetError

    with open(evaluation.path) as handle:
        result = Evaluation.from_json(handle.read())
    try:
        version = run(
            registry_uri,
            model_name,
            model.path,
            result,
            data_version,
            run_id,
            serving_image=serving_image,
            git_commit=git_commit,
            template_version=template_version,
        )
    except FreshetError as exc:
        raise SystemExit(f"register: {exc}") from None
    print(f"register: {model_name} v{version.version} is the champion")
    return version.version


def make_register(base_image: str) -> Any:
    """The register component for an image."""
    return dsl.component(base_image=base_image, install_kfp_package=False)(register)
