"""Train one strategy on the prepared cache, once per seed.

The split is normalised once into device tensors, shared by the seeds; batches are formed by
indexing them (no per-sample decoding or Python transforms per step). The best-validation-loss
weights are kept. Tensors and weights are channels-last where the device supports it (CPU and
CUDA), and bf16 autocast is on where the device has native bf16 (`fusion.devices`). The CPU run
is seeded and deterministic.

Several seeds train at once (`seed_plan`): on a GPU as one `SeedStack` (one kernel per layer
for all seeds), on the CPU in a thread per seed; `benchmarks/train_speed.py` measures both. A
seed's initialisation, batch order and modality dropout come from its own seed whatever the
plan, so plans give the same weights up to float rounding.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm import tqdm

from fusion import devices, strategies
from fusion.data.normalize import Normalizer
from fusion.data.prepared import Prepared
from fusion.evaluation.metrics import predict
from fusion.models.seed_stack import SeedStack
from fusion.params import StrategyConfig
from fusion.tracking import Run


@dataclass
class Inputs:
    """A split, normalised and on the device."""

    rgb: torch.Tensor  # float32 (N, 4, H, W)
    xyza: torch.Tensor  # float32 (N, 4, H, W)
    labels: torch.Tensor  # int64 (N,)

    def __len__(self) -> int:
        return len(self.labels)


def split_inputs(data: Prepared, rows, normalizer: Normalizer, device: torch.device) -> Inputs:
    rows = np.asarray(rows, dtype=np.int64)

    def to(x: np.ndarray) -> torch.Tensor:  # numpy indexing copies, also from a read-only mmap
        return torch.from_numpy(x[rows]).to(device, non_blocking=True)

    layout = devices.memory_format(device)
    return Inputs(
        rgb=normalizer.rgb(to(data.rgb)).contiguous(memory_format=layout),
        xyza=normalizer.xyza(to(data.xyza)).contiguous(memory_format=layout),
        labels=to(data.labels),
    )


def drop_modality(rgb, xyza, fraction: float, generators: Sequence[torch.Generator]):
    """Zero (= train mean) one modality, chosen at random, for `fraction` of each member's batch.

    rgb, xyza (k, B, 4, H, W): member i's draws come from generators[i].
    """
    b = rgb.shape[1]
    u = torch.stack([torch.rand(b, generator=g, device=g.device) for g in generators])
    u = u.to(rgb.device)[..., None, None, None]  # (k, B, 1, 1, 1)
    drop_rgb = u < fraction / 2
    drop_lidar = (u >= fraction / 2) & (u < fraction)
    return rgb.masked_fill(drop_rgb, 0.0), xyza.masked_fill(drop_lidar, 0.0)


def evaluate_loss(stack: SeedStack, inputs: Inputs, batch_size: int,
                  device) -> list[tuple[float, float]]:
    """Each member's mean cross-entropy and accuracy over `inputs`."""
    logits = predict(stack, inputs.rgb, inputs.xyza, batch_size, device)  # (k, N, C)
    labels = inputs.labels.cpu()
    return [(F.cross_entropy(member, labels).item(),
             (member.argmax(1) == labels).float().mean().item()) for member in logits]


def peak_memory_mb(device: torch.device) -> tuple[float, str]:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20, "cuda_max_allocated"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "process_peak_rss"


def index_batches(inputs: Inputs, batch_size: int, generators: Sequence[torch.Generator]):
    """Shuffled batches formed by indexing the device tensors, one shuffle per generator:
    (rgb, xyza) (k, B, 4, H, W) and labels (k, B)."""
    orders = torch.stack([torch.randperm(len(inputs), generator=g) for g in generators])
    orders = orders.to(inputs.labels.device)
    for start in range(0, len(inputs), batch_size):
        idx = orders[:, start : start + batch_size]  # (k, B)
        flat = idx.flatten()
        yield (inputs.rgb[flat].unflatten(0, idx.shape), inputs.xyza[flat].unflatten(0, idx.shape),
               inputs.labels[idx])


def train_epoch(stack: SeedStack, optimizer, batches, device, weight=None,
                modality_dropout: float = 0.0, generators: Sequence[torch.Generator] = (),
                scheduler=None) -> list[float]:
    """One pass over `batches` of (rgb, xyza, labels), each (k, B, ...); returns each member's
    mean training loss. `scheduler`, if given, steps once per batch.

    The loss is the sum of the members' mean losses, so each member gets its own gradient.
    """
    stack.train()
    total = torch.zeros(stack.size, device=device)
    seen = 0
    for rgb, xyza, y in batches:
        rgb, xyza, y = (t.to(device, non_blocking=True) for t in (rgb, xyza, y))
        if modality_dropout > 0:
            rgb, xyza = drop_modality(rgb, xyza, modality_dropout, generators)
        with devices.autocast(device):
            logits = stack(rgb, xyza).float()  # (k, B, C)
        losses = torch.stack([F.cross_entropy(out, labels, weight=weight)
                              for out, labels in zip(logits, y, strict=True)])
        optimizer.zero_grad(set_to_none=True)
        losses.sum().backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total += losses.detach() * y.shape[1]
        seen += y.shape[1]
    return [loss / seen for loss in total.tolist()]  # the only host sync of the epoch


@dataclass
class TrainResult:
    model: torch.nn.Module  # with the best-validation weights, on the CPU
    history: pd.DataFrame  # epoch, train_loss, val_loss, val_accuracy
    metrics: dict


def seed_plan(device: torch.device, seeds: int) -> str:
    """How to train several seeds: measured fastest (`benchmarks/train_speed.py`).

    "stack": one `SeedStack` (vmap), on CUDA, where these small models are launch-bound;
    "threads": a thread per seed sharing the cores, on the CPU, where one seed's small kernels
    leave cores idle; "sequence": one after another (one seed, or MPS, which was not measured).
    """
    if seeds > 1 and device.type == "cuda":
        return "stack"
    if seeds > 1 and device.type == "cpu" and torch.get_num_threads() > 1:
        return "threads"
    return "sequence"


def train(
    cfg: StrategyConfig,
    data: Prepared,
    splits: dict,
    stats: dict,
    seeds: Sequence[int] | None = None,
    progress: bool = True,
    plan: str | None = None,
) -> dict[int, TrainResult]:
    """Train `cfg` once per seed (default: its `train.seeds`) on one split, normalised once.

    The seed drives initialisation, batch order and modality dropout; returns {seed: result}.
    `plan` ("stack", "threads" or "sequence"; default `seed_plan`) changes only how fast, and
    the weights within float rounding: with "threads", each seed gets an equal share of the
    CPU threads, so a seed's weights are bitwise reproducible for the same seed list and
    thread count.
    """
    t = cfg.train
    device = devices.resolve(t.device, key="train.device")
    seeds = list(t.seeds if seeds is None else seeds)
    plan = plan or seed_plan(device, len(seeds))
    if plan not in ("stack", "threads", "sequence"):
        raise ValueError(f"plan: expected 'stack', 'threads' or 'sequence', got {plan!r}")
    normalizer = Normalizer(stats, device)
    train_set = split_inputs(data, splits["train"], normalizer, device)
    val_set = split_inputs(data, splits["val"], normalizer, device)
    if len(train_set) == 0 or len(val_set) == 0:
        raise ValueError(f"empty split: train {len(train_set)}, val {len(val_set)} samples")
    weight = None
    if t.class_weights:  # inverse class frequency, mean weight 1 over the train split
        counts = torch.bincount(train_set.labels, minlength=len(data.classes)).float()
        weight = counts.sum() / (len(counts) * counts.clamp_min(1))
    members = []  # built here, in order: initialisation draws from the global RNG
    for seed in seeds:
        torch.manual_seed(seed)
        model = strategies.build(cfg.fusion, cfg.model, data.image_size)
        members.append(model.to(device, memory_format=devices.memory_format(device)))
    jobs = ([(seeds, members)] if plan == "stack"
            else [([seed], [member]) for seed, member in zip(seeds, members, strict=True)])

    if plan == "threads":
        done = devices.split_cores(lambda job: _train_group(
            cfg, *job, train_set, val_set, weight, device, progress, concurrent=len(jobs)), jobs)
    else:
        done = [_train_group(cfg, *job, train_set, val_set, weight, device, progress)
                for job in jobs]
    return {seed: result for results in done for seed, result in results.items()}


def _train_group(cfg: StrategyConfig, seeds: list[int], members: list[torch.nn.Module],
                 train_set: Inputs, val_set: Inputs, weight, device: torch.device,
                 progress: bool, concurrent: int = 1) -> dict[int, TrainResult]:
    """Train one member per seed together, as one `SeedStack`; `concurrent` groups share the
    machine at once (their batch progress bars are off; epoch lines stay)."""
    t = cfg.train
    stack = SeedStack(members)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    optimizer = torch.optim.Adam(stack.parameters(), lr=t.lr, weight_decay=t.weight_decay)
    steps = -(-len(train_set) // t.batch_size)  # per epoch
    scheduler = None
    if t.schedule == "onecycle":  # warm-up to lr, then cosine decay, per batch
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, t.lr, t.epochs * steps)
    generators = [torch.Generator().manual_seed(seed) for seed in seeds]
    params = sum(p.numel() for p in members[0].parameters() if p.requires_grad)
    runs = [Run(f"{cfg.name}-seed{seed}", {**cfg.to_dict(), "seed": seed,
                                           "trainable_params": params}, group=cfg.name)
            for seed in seeds]
    label = f"{cfg.name} seed{'s' if len(seeds) > 1 else ''} {','.join(map(str, seeds))}"

    histories = [[] for _ in seeds]
    best = [None] * len(seeds)
    best_state = [None] * len(seeds)
    train_seconds = epoch_seconds = 0.0
    for epoch in range(1, t.epochs + 1):
        epoch_start = time.perf_counter()
        batches = tqdm(index_batches(train_set, t.batch_size, generators), total=steps,
                       desc=f"{label} epoch {epoch}/{t.epochs}", unit="batch", leave=False,
                       disable=not progress or concurrent > 1)
        train_losses = train_epoch(stack, optimizer, batches, device, weight,
                                   t.modality_dropout, generators, scheduler)
        train_seconds += time.perf_counter() - epoch_start
        validation = evaluate_loss(stack, val_set, 4 * t.batch_size, device)
        epoch_seconds += time.perf_counter() - epoch_start
        for i, (seed, train_loss, (val_loss, val_accuracy)) in enumerate(
                zip(seeds, train_losses, validation, strict=True)):
            row = {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss,
                   "val_accuracy": val_accuracy}
            histories[i].append(row)
            runs[i].log(row, step=epoch)
            if progress:
                print(f"{cfg.name} seed {seed} epoch {epoch}: train {train_loss:.4f}  "
                      f"val {val_loss:.4f}  acc {val_accuracy:.4f}", flush=True)
            if best[i] is None or val_loss < best[i]["val_loss"]:
                best[i], best_state[i] = row, stack.member_state(i)

    memory, memory_kind = peak_memory_mb(device)
    together = len(seeds) * concurrent
    results = {}
    for i, seed in enumerate(seeds):
        model = members[i].to("cpu", memory_format=torch.contiguous_format)
        model.load_state_dict(best_state[i])
        metrics = {
            "seed": seed,
            "params": params,
            "best_val_loss": best[i]["val_loss"],
            "best_epoch": best[i]["epoch"],
            "val_accuracy": best[i]["val_accuracy"],
            # Machine time per seed: a group's time over the seeds that shared the machine.
            "seeds_trained_together": together,
            "seconds_per_epoch": epoch_seconds / t.epochs / together,
            "samples_per_second": together * len(train_set) * t.epochs / train_seconds,
            "peak_memory_mb": memory,
            "peak_memory_kind": memory_kind,
            "device": str(device),
            "train_samples": len(train_set),
        }
        runs[i].finish(metrics)
        results[seed] = TrainResult(model=model, history=pd.DataFrame(histories[i]),
                                    metrics=metrics)
    return results
