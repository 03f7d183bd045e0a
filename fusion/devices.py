"""Which device to run on, and what it supports.

`check_name` validates a device name without importing torch, so `fusion.params` can call it
and numpy-only stages still start fast; everything else imports torch when called.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import torch

NAME = re.compile(r"auto|cpu|mps|cuda(:(0|[1-9][0-9]*))?")
FORMS = "auto, cpu, cuda, cuda:N or mps"  # N = 0, 1, ...: a CUDA device index
T, R = TypeVar("T"), TypeVar("R")


def check_name(name: str, key: str = "device") -> str:
    """Return `name` if it is a device name of an accepted form, else raise ValueError."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ValueError(f"{key}: expected {FORMS}, got {name!r}")
    return name


def available() -> list[str]:
    """The devices of this machine, e.g. ["cpu", "cuda:0", "cuda:1"]."""
    import torch

    names = ["cpu"]
    if torch.cuda.is_available():
        names += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if torch.backends.mps.is_available():
        names.append("mps")
    return names


def resolve(name: str, key: str = "device") -> torch.device:
    """A device name -> torch.device; `auto` picks CUDA, then Apple MPS, then the CPU.

    Raises ValueError for a malformed name and RuntimeError for a device this machine lacks;
    both messages name `key`.
    """
    import torch

    check_name(name, key)
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if torch.backends.mps.is_available() else "cpu")
    here = available()
    wanted = f"cuda:{name.partition(':')[2] or 0}" if name.startswith("cuda") else name
    if wanted not in here:
        raise RuntimeError(f"{key}: {name!r} requested but not available on this machine "
                           f"(available: {', '.join(here)})")
    return torch.device(name)


def supports_bf16_autocast(device: torch.device) -> bool:
    """bf16 autocast only on CUDA devices with native bf16 (Ampere or newer, or ROCm)."""
    import torch

    if device.type != "cuda":
        return False
    with torch.cuda.device(device):
        return torch.cuda.is_bf16_supported(including_emulation=False)


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast where the device supports it; elsewhere a no-op (full float32)."""
    import torch

    if not supports_bf16_autocast(device):
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def memory_format(device: torch.device) -> torch.memory_format:
    """channels-last on the CPU and CUDA; contiguous on MPS, where it is less well supported."""
    import torch

    return torch.contiguous_format if device.type == "mps" else torch.channels_last


def split_cores(fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """[fn(item) for item in items], run at once in a thread per item, each with an equal share
    of torch's CPU threads (at least one): one small model's kernels leave cores idle, several
    at once fill them. A thread's arithmetic depends only on its share, not on the others."""
    import torch

    cores = torch.get_num_threads()
    share = max(1, cores // len(items))

    def run(item: T) -> R:
        torch.set_num_threads(share)  # this thread's own OpenMP team
        return fn(item)

    try:
        with ThreadPoolExecutor(len(items)) as pool:
            return list(pool.map(run, items))
    finally:
        torch.set_num_threads(cores)
