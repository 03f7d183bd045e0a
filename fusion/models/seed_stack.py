"""Several seeds of one architecture trained as one model.

`SeedStack` maps per-member batches (k, B, ...) to logits (k, B, classes). One member is called
directly. Several have their parameters stacked on a leading seed axis
(`torch.func.stack_module_state`) and run through `torch.func.vmap`, so each layer is one
kernel for all k seeds instead of k kernels: the win where launches, not arithmetic, bound
these small models (a GPU; `benchmarks/train_speed.py` measures it). Each member's arithmetic
is unchanged and the members share no parameter, so a per-element optimiser (Adam) on the
stacked tensors updates each member as if it were trained alone.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Sequence

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap
from torch.nn.attention import SDPBackend, sdpa_kernel


class SeedStack(nn.Module):
    """k members of one architecture: forward(rgb, xyza) -> (k, B, classes).

    Inputs are (k, B, C, H, W), one batch per member, or (B, C, H, W), shared by all members.
    """

    def __init__(self, members: Sequence[nn.Module]):
        super().__init__()
        if not members:
            raise ValueError("SeedStack needs at least one member")
        self.size = len(members)
        self.single = members[0] if self.size == 1 else None
        if self.single is None:
            params, buffers = stack_module_state(list(members))  # {name: (k, ...)}
            self.names, self.buffer_names = list(params), list(buffers)
            self.stacked = nn.ParameterList(params.values())
            for i, buffer in enumerate(buffers.values()):
                self.register_buffer(f"buffer{i}", buffer)
            self.has_attention = any(isinstance(m, nn.MultiheadAttention)
                                     for m in members[0].modules())
            # The architecture without weights; a list keeps it out of the registered modules.
            self._skeleton = [copy.deepcopy(members[0]).to("meta")]

    def train(self, mode: bool = True) -> SeedStack:
        super().train(mode)
        if self.single is None:
            self._skeleton[0].train(mode)
        return self

    def _state(self) -> tuple[dict, dict]:
        buffers = [getattr(self, f"buffer{i}") for i in range(len(self.buffer_names))]
        return dict(zip(self.names, self.stacked, strict=True)), dict(
            zip(self.buffer_names, buffers, strict=True))

    def forward(self, rgb: torch.Tensor, xyza: torch.Tensor) -> torch.Tensor:
        shared = rgb.ndim == 4
        if self.single is not None:
            return self.single(rgb if shared else rgb[0], xyza if shared else xyza[0])[None]

        def member(params, buffers, r, x):
            return functional_call(self._skeleton[0], (params, buffers), (r, x))

        batch_dim = None if shared else 0
        # The fused attention kernels have no batching rule (on CUDA the efficient kernel's
        # backward fails under vmap); the math form batches like any matmul, but its backward
        # fails under vmap in bf16, so a model with attention runs in float32 here.
        precision = (torch.autocast(rgb.device.type, enabled=False) if self.has_attention
                     else contextlib.nullcontext())
        with sdpa_kernel(SDPBackend.MATH), precision:
            return vmap(member, in_dims=(0, 0, batch_dim, batch_dim))(*self._state(), rgb, xyza)

    def member_state(self, i: int) -> dict[str, torch.Tensor]:
        """Member i's state dict, as detached CPU copies."""
        if self.single is not None:
            state = self.single.state_dict()
        else:
            params, buffers = self._state()
            state = {name: value[i] for name, value in (params | buffers).items()}
        return {name: value.detach().to("cpu", copy=True) for name, value in state.items()}
