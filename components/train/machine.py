"""Where and how the loop runs: the device, its numerics, and the SIGTERM it listens for."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from freshet.errors import BadInput


def pick_device(requested: str) -> Any:
    """Chooses CUDA when present (or asked for), else the CPU."""
    import torch

    if requested == "cuda" and not torch.cuda.is_available():
        raise BadInput("device is 'cuda' but this machine has no CUDA device.")
    if requested == "cuda" or (requested == "auto" and torch.cuda.is_available()):
        return torch.device("cuda")
    return torch.device("cpu")


@contextmanager
def sigterm_flag() -> Iterator[threading.Event]:
    """Turns SIGTERM (the Spot preemption notice) into a flag the loop checks."""
    flag = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = signal.signal(signal.SIGTERM, lambda *_: flag.set())
    try:
        yield flag
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def numerics(device: Any) -> Iterator[None]:
    """Deterministic kernels on the CPU; TF32 matmuls on CUDA. Restores the global settings."""
    import torch

    deterministic = torch.are_deterministic_algorithms_enabled()
    precision = torch.get_float32_matmul_precision()
    cudnn_tf32 = torch.backends.cudnn.allow_tf32
    try:
        if device.type == "cpu":
            torch.use_deterministic_algorithms(True)
        else:
            torch.set_float32_matmul_precision("high")
            torch.backends.cudnn.allow_tf32 = True
        yield
    finally:
        torch.use_deterministic_algorithms(deterministic)
        torch.set_float32_matmul_precision(precision)
        torch.backends.cudnn.allow_tf32 = cudnn_tf32
