"""KFP wrapper of the package step (cached on its inputs: the same model, the same bundle)."""

from typing import Any

from kfp import dsl
from kfp.dsl import Dataset, Input, Model, Output


def package(
    dataset: Input[Dataset],
    model: Input[Model],
    golden_count: int,
    git_commit: str,
    serving_image: str,
    build_project: str,
    build_bucket: str,
    bundle: Output[Model],
) -> str:
    """Packages the contract model into a serving bundle; builds the image when configured.

    Returns the image reference (`repository@sha256:...`) or "bundle only".
    """
    # The libraries this step uses: the local fork server imports them once per run.
    import onnxruntime  # type: ignore[import-untyped]  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    from freshet.components.package.core import PackageConfig
    from freshet.components.package.core import package as run
    from freshet.components.package.image import builder_for
    from freshet.errors import FreshetError

    try:
        builder, status = builder_for(serving_image, build_project, build_bucket)
        info = run(
            model.path,
            dataset.path,
            bundle.path,
            PackageConfig(golden_count=golden_count, git_commit=git_commit),
            builder=builder,
            image_status=status,
        )
    except FreshetError as exc:
        raise SystemExit(f"package: {exc}") from None
    image = info.image.pinned if info.image else "bundle only"
    bundle.metadata.update(
        {
            "framework": "onnx",
            "task": info.task,
            "producer": info.producer,
            "data_version": info.data_version,
            "model_digest": info.model_digest,
            "git_commit": info.git_commit or "",
            "image": image,
            "image_status": info.image_status,
        }
    )
    print(f"package: bundle at {bundle.path}; image: {image} ({info.image_status})")
    return image


def make_package(base_image: str) -> Any:
    """The package component for an image."""
    return dsl.component(base_image=base_image, install_kfp_package=False)(package)
