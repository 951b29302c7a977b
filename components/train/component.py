"""KFP wrapper of the train step."""

from typing import Any

from kfp import dsl
from kfp.dsl import Dataset, Input, Model, Output


def train(
    dataset: Input[Dataset],
    model: Output[Model],
    hidden_units: int,
    hidden_layers: int,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    patience: int,
    seed: int,
    checkpoint_root: str = "",
    checkpoint_every_steps: int = 0,
    compile_model: bool = False,
    data_loading: str = "auto",
    model_factory: str = "",
    model_params: str = "{}",
) -> None:
    """Trains a torch model and writes the model contract; a retry resumes its checkpoint.

    `model_factory` is "" (the built-in MLP) or "package.module:function", importable in the
    image or from the working directory, called as `function(n_inputs, n_outputs, params)`
    with `params` = `hidden_units`, `hidden_layers`, `seed`, `task` and the keys of the
    `model_params` JSON object.

    The checkpoint goes under `checkpoint_root` (e.g. `gs://bucket/checkpoints`, the same
    for every attempt of the task) when given, else inside the `model` output. A SIGTERM
    (Spot preemption) saves it and fails the attempt so that the task's retry resumes.
    """
    # The libraries this step uses: the local fork server imports them once per run.
    import onnx  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    import skl2onnx  # noqa: F401
    import sklearn.preprocessing  # noqa: F401
    import torch

    from freshet.components.train.config import TrainConfig
    from freshet.components.train.core import train as run
    from freshet.errors import FreshetError

    config = TrainConfig(
        hidden_units=hidden_units,
        hidden_layers=hidden_layers,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        patience=patience,
        seed=seed,
        checkpoint_every_steps=checkpoint_every_steps,
        compile_model=compile_model,
        data_loading=data_loading,
        model_factory=model_factory,
        model_params=model_params,
    )
    try:
        result = run(dataset.path, model.path, config, checkpoint_root=checkpoint_root)
    except FreshetError as exc:
        raise SystemExit(f"train: {exc}") from None

    from freshet.components.train.core import PRODUCER

    # `validation_metric` and `validation_score` are the names every freshet trainer uses.
    regression = result.task == "regression"
    metric = "rmse" if regression else "accuracy"
    score = result.val_rmse if regression else result.val_accuracy
    model.metadata.update(
        {
            "task": result.task,
            "framework": f"pytorch {torch.__version__}",
            "producer": PRODUCER,
            "model_factory": result.model_factory,
            "device": result.device,
            "data_loading": result.data_loading,
            "epochs_run": result.epochs_run,
            "resumed_from_step": result.resumed_from_step,
            "samples_per_second": result.samples_per_second,
            f"val_{metric}": score,
            "validation_metric": metric,
            "validation_score": score,
            "best_val_loss": result.best_val_loss,
            "checkpoint_uri": result.checkpoint_uri,
            "data_version": dataset.metadata.get("data_version", ""),
        }
    )


# The last line of the shell script kfp runs a Python component with.
_KFP_EXECUTOR_LINE = "\n_KFP_RUNTIME=true python3 -m kfp.dsl.executor_main"


def make_train(base_image: str) -> Any:
    """The train component for an image, whose Python process receives the container's SIGTERM.

    kfp starts a Python component as `sh -ec '...; python3 -m kfp.dsl.executor_main ...'`, so
    in a container the shell is PID 1 and Python its child. A container runtime stopping the
    container (a Spot VM's preemption notice) signals PID 1 only, and a shell that is PID 1
    ignores SIGTERM: the step would never save its checkpoint. `exec` makes Python PID 1.

    Raises:
        RuntimeError: kfp's command no longer has the line this rewrites (a kfp upgrade).
    """
    component = dsl.component(base_image=base_image, install_kfp_package=False)(train)
    container = component.component_spec.implementation.container
    shell, flag, script, *rest = container.command
    if _KFP_EXECUTOR_LINE not in script:
        raise RuntimeError(f"kfp's component command changed, cannot exec Python: {script!r}")
    script = script.replace(_KFP_EXECUTOR_LINE, "\nexec env " + _KFP_EXECUTOR_LINE[1:])
    container.command = [shell, flag, script, *rest]
    return component
