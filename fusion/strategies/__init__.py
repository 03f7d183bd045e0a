"""Registry of fusion strategies: name -> builder(model_params, image_size) -> nn.Module.

Every model maps rgb (B, 4, H, W) and xyza (B, 4, H, W), H = W a multiple of 8, to (B, 2)
logits. Each module of this package registers its builders with `@register(name)`; importing
the package imports them all, so adding a strategy is adding a file.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

from torch import nn

from fusion.params import ModelParams

Builder = Callable[[ModelParams, int], nn.Module]
_BUILDERS: dict[str, Builder] = {}


def register(name: str) -> Callable[[Builder], Builder]:
    """Decorator: register `fn(model_params, image_size) -> nn.Module` as strategy `name`."""

    def decorator(fn: Builder) -> Builder:
        if name in _BUILDERS:
            raise ValueError(f"fusion strategy {name!r} is already registered")
        _BUILDERS[name] = fn
        return fn

    return decorator


def available() -> list[str]:
    """Registered strategy names, sorted."""
    return sorted(_BUILDERS)


def check(fusion: str) -> None:
    """Raise ValueError, listing the registered names, unless `fusion` is one of them."""
    if fusion not in _BUILDERS:
        raise ValueError(
            f"unknown fusion strategy {fusion!r}; registered: {', '.join(available())}"
        )


def build(fusion: str, model_params: ModelParams, image_size: int) -> nn.Module:
    """Build registered strategy `fusion` for H = W = image_size inputs."""
    check(fusion)
    return _BUILDERS[fusion](model_params, image_size)


for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
