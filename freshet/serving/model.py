"""Loading a bundle for serving: one onnxruntime session over the contract model (no torch).

The graph is checked against the signature through the session itself, so serving needs
neither the `onnx` package nor pandas: `freshet.contract.runtime.ContractModel` runs it,
the same class that evaluation and packaging run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from freshet.contract.files import check_ports, session_ports
from freshet.contract.runtime import ContractModel, open_session
from freshet.contract.signature import Signature
from freshet.serving.signature import MODEL_FILE, check_bundle_dir, load_signature


def check_session(session: Any, signature: Signature, where: str) -> None:
    """Checks a loaded graph's inputs and outputs against the signature.

    Raises:
        BadInput: One sentence naming the first mismatch.
    """
    check_ports(*session_ports(session), signature, where)


def load_bundle(bundle_dir: str | Path, threads: int = 1) -> ContractModel:
    """Loads and checks a serving bundle.

    Args:
        bundle_dir: A directory written by the package step (or any contract model).
        threads: onnxruntime intra-op threads (1 is fastest for small batches).

    Returns:
        The model, ready to answer.

    Raises:
        BadInput: The directory is not a bundle, a file is malformed, or the graph does not
            match the signature.
    """
    path = check_bundle_dir(bundle_dir)
    signature = load_signature(path)
    model_path = path / MODEL_FILE
    session = open_session(model_path, threads)
    check_session(session, signature, str(model_path))
    return ContractModel(signature, session, model_path)
