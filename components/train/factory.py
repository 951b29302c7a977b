"""Model factories: the user's `package.module:function` that builds the torch module.

The function is imported from the installed packages or from the current working directory
(the user's project), and called as `factory(n_inputs, n_outputs, params)`. Each way this can
go wrong is one sentence naming the factory, raised before anything is trained or written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from freshet.components.train.config import factory_name
from freshet.errors import BadInput
from freshet.references import MISSING, described, find_attribute, import_reference

Factory = Callable[[int, int, dict[str, Any]], Any]


def resolve_factory(model_factory: str) -> Factory:
    """Imports the factory named `package.module:function` ("" is the built-in MLP).

    The current working directory is put first on `sys.path` (when it is not on it), so a
    factory in the user's project imports without being installed.

    Raises:
        BadInput: The name is malformed, the module does not import, it has no such
            attribute, or the attribute is not callable.
    """
    name = factory_name(model_factory)
    module, module_name, attribute = import_reference(name, "The model factory")
    target = find_attribute(module, attribute)
    if target is MISSING:
        raise BadInput(
            f"The model factory '{name}' does not exist: module '{module_name}' has no "
            f"'{attribute}'."
        )
    if not callable(target):
        raise BadInput(
            f"The model factory '{name}' is not callable: it is a {type(target).__name__}."
        )
    factory: Factory = target
    return factory


def build_network(model_factory: str, n_inputs: int, n_outputs: int, params: dict[str, Any]) -> Any:
    """Calls the factory and checks that it gave a `torch.nn.Module`.

    Args:
        model_factory: "package.module:function", or "" for the built-in MLP.
        n_inputs: Width of the preprocessed matrix.
        n_outputs: Number of classes, or 1 for regression.
        params: `TrainConfig.params(task)`.

    Returns:
        The module (on the CPU, as the factory made it).

    Raises:
        BadInput: The factory cannot be imported, fails, or returns something else.
    """
    from torch import nn

    name = factory_name(model_factory)
    factory = resolve_factory(model_factory)
    try:
        network = factory(n_inputs, n_outputs, params)
    except Exception as exc:  # the user's code: report it as their input's problem
        raise BadInput(
            f"The model factory '{name}' failed for {n_inputs} inputs and {n_outputs} "
            f"outputs: {described(exc)}."
        ) from None
    if not isinstance(network, nn.Module):
        raise BadInput(
            f"The model factory '{name}' returned a {type(network).__name__}, "
            "not a torch.nn.Module."
        )
    return network
