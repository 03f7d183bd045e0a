"""Train one strategy on the prepared cache, once per seed.

The split is normalised once into device tensors, shared by the seeds; batches are formed by
indexing them (no per-sample decoding or Python transforms per step). The best-validation-loss
weights are kept. Tensors and weights are channels-last where the device supports it (CPU and
CUDA), and bf16 autocast is on where the device has native bf16 (`fusion.devices`). The CPU run
is seeded and deterministic.
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
from fusion.evaluation import predict
from fusion.normalize import Normalizer
from fusion.params import StrategyConfig
from fusion.prepared import Prepared
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


def drop_modality(rgb, xyza, fraction: float, generator: torch.Generator):
    """Zero (= train mean) one modality, chosen at random, for `fraction` of the batch."""
    b = rgb.shape[0]
    u = torch.rand(b, generator=generator, device=generator.device).to(rgb.device)
    drop_rgb = (u < fraction / 2).view(b, 1, 1, 1)
    drop_lidar = ((u >= fraction / 2) & (u < fraction)).view(b, 1, 1, 1)
    return rgb.masked_fill(drop_rgb, 0.0), xyza.masked_fill(drop_lidar, 0.0)


def evaluate_loss(model, inputs: Inputs, batch_size: int, device) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over `inputs`."""
    logits = predict(model, inputs.rgb, inputs.xyza, batch_size, device)
    labels = inputs.labels.cpu()
    accuracy = (logits.argmax(1) == labels).float().mean().item()
    return F.cross_entropy(logits, labels).item(), accuracy


def peak_memory_mb(device: torch.device) -> tuple[float, str]:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20, "cuda_max_allocated"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "process_peak_rss"


def index_batches(inputs: Inputs, batch_size: int, generator: torch.Generator):
    """Shuffled batches formed by indexing the device tensors: (rgb, xyza, labels) tuples."""
    order = torch.randperm(len(inputs), generator=generator).to(inputs.labels.device)
    for start in range(0, len(inputs), batch_size):
        idx = order[start : start + batch_size]
        yield inputs.rgb[idx], inputs.xyza[idx], inputs.labels[idx]


def train_epoch(model, optimizer, batches, device, weight=None, modality_dropout: float = 0.0,
                generator: torch.Generator | None = None, scheduler=None) -> float:
    """One pass over `batches` of (rgb, xyza, labels); returns the mean training loss.

    `scheduler`, if given, steps once per batch.
    """
    model.train()
    total = torch.zeros((), device=device)
    seen = 0
    for rgb, xyza, y in batches:
        rgb, xyza, y = (t.to(device, non_blocking=True) for t in (rgb, xyza, y))
        if modality_dropout > 0:
            rgb, xyza = drop_modality(rgb, xyza, modality_dropout, generator)
        with devices.autocast(device):
            loss = F.cross_entropy(model(rgb, xyza).float(), y, weight=weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total += loss.detach() * len(y)
        seen += len(y)
    return total.item() / seen  # the only host sync of the epoch


@dataclass
class TrainResult:
    model: torch.nn.Module  # with the best-validation weights, on the CPU
    history: pd.DataFrame  # epoch, train_loss, val_loss, val_accuracy
    metrics: dict


def train(
    cfg: StrategyConfig,
    data: Prepared,
    splits: dict,
    stats: dict,
    seeds: Sequence[int] | None = None,
    progress: bool = True,
) -> dict[int, TrainResult]:
    """Train `cfg` once per seed (default: its `train.seeds`) on one split, normalised once.

    The seed drives initialisation, batch order and modality dropout; returns {seed: result}.
    """
    t = cfg.train
    device = devices.resolve(t.device, key="train.device")
    normalizer = Normalizer(stats, device)
    train_set = split_inputs(data, splits["train"], normalizer, device)
    val_set = split_inputs(data, splits["val"], normalizer, device)
    if len(train_set) == 0 or len(val_set) == 0:
        raise ValueError(f"empty split: train {len(train_set)}, val {len(val_set)} samples")
    weight = None
    if t.class_weights:  # inverse class frequency, mean weight 1 over the train split
        counts = torch.bincount(train_set.labels, minlength=len(data.classes)).float()
        weight = counts.sum() / (len(counts) * counts.clamp_min(1))
    return {
        seed: _train_seed(cfg, seed, data.image_size, train_set, val_set, weight, device,
                          progress)
        for seed in (t.seeds if seeds is None else seeds)
    }


def _train_seed(cfg: StrategyConfig, seed: int, image_size: int, train_set: Inputs,
                val_set: Inputs, weight, device: torch.device, progress: bool) -> TrainResult:
    t = cfg.train
    torch.manual_seed(seed)
    model = strategies.build(cfg.fusion, cfg.model, image_size)
    model = model.to(device, memory_format=devices.memory_format(device))
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=t.lr, weight_decay=t.weight_decay)
    steps = -(-len(train_set) // t.batch_size)  # per epoch
    scheduler = None
    if t.schedule == "onecycle":  # warm-up to lr, then cosine decay, per batch
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, t.lr, t.epochs * steps)
    generator = torch.Generator().manual_seed(seed)
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    run = Run(f"{cfg.name}-seed{seed}", {**cfg.to_dict(), "seed": seed,
                                         "trainable_params": params}, group=cfg.name)
    label = f"{cfg.name} seed {seed}"

    history, best, best_state = [], None, None
    train_seconds = epoch_seconds = 0.0
    for epoch in range(1, t.epochs + 1):
        epoch_start = time.perf_counter()
        batches = tqdm(index_batches(train_set, t.batch_size, generator), total=steps,
                       desc=f"{label} epoch {epoch}/{t.epochs}", unit="batch", leave=False,
                       disable=not progress)
        train_loss = train_epoch(model, optimizer, batches, device, weight, t.modality_dropout,
                                 generator, scheduler)
        train_seconds += time.perf_counter() - epoch_start
        val_loss, val_accuracy = evaluate_loss(model, val_set, 4 * t.batch_size, device)
        epoch_seconds += time.perf_counter() - epoch_start
        row = {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss,
               "val_accuracy": val_accuracy}
        history.append(row)
        run.log(row, step=epoch)
        if progress:
            print(f"{label} epoch {epoch}: train {train_loss:.4f}  val {val_loss:.4f}  "
                  f"acc {val_accuracy:.4f}", flush=True)
        if best is None or val_loss < best["val_loss"]:
            best = row
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}

    memory, memory_kind = peak_memory_mb(device)
    model = model.cpu().to(memory_format=torch.contiguous_format)
    model.load_state_dict(best_state)
    metrics = {
        "seed": seed,
        "params": params,
        "best_val_loss": best["val_loss"],
        "best_epoch": best["epoch"],
        "val_accuracy": best["val_accuracy"],
        "seconds_per_epoch": epoch_seconds / t.epochs,
        "samples_per_second": len(train_set) * t.epochs / train_seconds,
        "peak_memory_mb": memory,
        "peak_memory_kind": memory_kind,
        "device": str(device),
        "train_samples": len(train_set),
    }
    run.finish(metrics)
    return TrainResult(model=model, history=pd.DataFrame(history), metrics=metrics)
