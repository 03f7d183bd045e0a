"""The training loop: deterministic on CPU, best checkpoint round-trips, options, W&B offline."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from fusion.data.normalize import Normalizer
from fusion.data.prepared import Prepared
from fusion.data.stats import compute_stats
from fusion.models import training
from fusion.models.checkpoint import load_checkpoint, save_checkpoint
from fusion.models.seed_stack import SeedStack
from fusion.models.training import drop_modality, seed_plan, split_inputs, train
from fusion.params import ModelParams, StrategyConfig, TrainParams

SIZE = 16
NUM_THREADS = torch.get_num_threads()


@pytest.fixture(scope="module")
def data():
    """Spheres are brighter and nearer than cubes: learnable in an epoch or two."""
    rng = np.random.default_rng(0)
    n = 96
    labels = np.arange(n) % 2
    rgb = rng.integers(0, 100, (n, 4, SIZE, SIZE), dtype=np.uint8)
    rgb[labels == 1, :3] += 100
    rgb[:, 3] = 255
    xyza = rng.normal(0, 1, (n, 4, SIZE, SIZE)).astype(np.float32)
    xyza[:, 1] += np.where(labels == 1, 5.0, 10.0)[:, None, None]
    xyza[:, 3] = rng.random((n, SIZE, SIZE)) > 0.1
    index = pd.DataFrame({"row": range(n), "id": [f"s/{i}" for i in range(n)],
                          "class": np.where(labels, "spheres", "cubes"), "label": labels})
    prepared = Prepared(rgb, xyza, labels.astype(np.int64), index, ["cubes", "spheres"])
    splits = {"train": list(range(64)), "val": list(range(64, 96)), "test": []}
    return prepared, splits, compute_stats(rgb, xyza, np.arange(64))


def config(fusion="add", **train):
    train = {"seeds": (0,), **train}
    return StrategyConfig(
        name=fusion, fusion=fusion, model=ModelParams(fusion=fusion, feature_dim=8),
        train=dataclasses.replace(TrainParams(), epochs=2, batch_size=16, device="cpu", **train),
    )


def train_one(cfg, *data):
    (result,) = train(cfg, *data, progress=False).values()
    return result


def test_training_is_deterministic_and_keeps_the_best_epoch(data):
    first, second = (train_one(config(), *data) for _ in range(2))
    pd.testing.assert_frame_equal(first.history, second.history)
    for key, value in first.model.state_dict().items():
        assert torch.equal(value, second.model.state_dict()[key]), key
    best = first.history.loc[first.history["val_loss"].idxmin()]
    assert first.metrics["best_epoch"] == best["epoch"]
    assert first.metrics["best_val_loss"] == pytest.approx(best["val_loss"])
    assert first.metrics["val_accuracy"] > 0.9  # the toy task is learnt
    for key in ("params", "seconds_per_epoch", "samples_per_second", "peak_memory_mb"):
        assert first.metrics[key] > 0
    assert first.metrics["peak_memory_kind"] == "process_peak_rss"


def test_checkpoint_round_trips_through_weights_only_load(data, tmp_path):
    prepared, splits, stats = data
    cfg = config("gated")
    result = train_one(cfg, prepared, splits, stats)
    save_checkpoint(tmp_path / "m.pt", result.model, cfg, prepared, stats, max_range=50.0)
    model, checkpoint = load_checkpoint(tmp_path / "m.pt")  # weights_only=True inside
    rgb, xyza = torch.randn(5, 4, SIZE, SIZE), torch.randn(5, 4, SIZE, SIZE)
    with torch.no_grad():
        torch.testing.assert_close(model(rgb, xyza), result.model.eval()(rgb, xyza))
    assert checkpoint["stats"] == stats and checkpoint["classes"] == ["cubes", "spheres"]
    assert checkpoint["config"]["fusion"] == "gated"
    # The same model saves to the same bytes, so DVC skips re-evaluating a reproduced retrain.
    save_checkpoint(tmp_path / "again.pt", result.model, cfg, prepared, stats, max_range=50.0)
    assert (tmp_path / "again.pt").read_bytes() == (tmp_path / "m.pt").read_bytes()


def test_modality_dropout_zeroes_one_modality_per_chosen_sample():
    rgb, xyza = torch.ones(2, 1000, 4, 2, 2), torch.ones(2, 1000, 4, 2, 2)  # 2 members
    generators = [torch.Generator().manual_seed(0), torch.Generator().manual_seed(1)]
    r, x = drop_modality(rgb, xyza, 1.0, generators)
    rgb_gone, lidar_gone = (r.flatten(2) == 0).all(2), (x.flatten(2) == 0).all(2)
    assert (rgb_gone ^ lidar_gone).all()  # exactly one modality per sample
    assert (400 < rgb_gone.sum(1)).all() and (rgb_gone.sum(1) < 600).all()
    assert not torch.equal(rgb_gone[0], rgb_gone[1])  # each member draws from its own generator
    alone, _ = drop_modality(rgb[1:], xyza[1:], 1.0, [torch.Generator().manual_seed(1)])
    assert torch.equal(alone[0], r[1])
    r, x = drop_modality(rgb, xyza, 0.0, generators)
    assert torch.equal(r, rgb) and torch.equal(x, xyza)


def recorded_batches(monkeypatch, data):
    """What each member model trains on, recorded by training's SeedStack: {id(model): a list
    over training batches of (positions in the train split (B,), zeroed modality (B,): 0 none,
    1 RGB, 2 LiDAR)}."""
    prepared, splits, stats = data
    inputs = split_inputs(prepared, splits["train"], Normalizer(stats), torch.device("cpu"))
    seen = {}

    def identify(rgb, xyza):  # one member's batch (B, 4, H, W) -> its samples, what was zeroed
        no_rgb, no_lidar = ((t.flatten(1) == 0).all(1) for t in (rgb, xyza))
        same_rgb, same_xyza = ((t[:, None] == full).flatten(2).all(2)  # (B, N)
                               for t, full in ((rgb, inputs.rgb), (xyza, inputs.xyza)))
        found = torch.where(no_rgb[:, None], same_xyza, same_rgb)
        assert (found.sum(1) == 1).all()  # each is one train-split sample
        return found.int().argmax(1), no_rgb + 2 * no_lidar

    class Recording(SeedStack):
        def __init__(self, members):
            super().__init__(members)
            self.logs = [seen.setdefault(id(m), []) for m in members]

        def forward(self, rgb, xyza):
            if rgb.ndim == 5:  # training batches (k, B, ...); evaluation's are shared (B, ...)
                for log, r, x in zip(self.logs, rgb, xyza, strict=True):
                    log.append(identify(r, x))
            return super().forward(rgb, xyza)

    monkeypatch.setattr(training, "SeedStack", Recording)
    return seen


@pytest.mark.parametrize("plan", ["sequence", "threads", "stack"])
def test_each_seed_draws_its_own_batch_order_and_modality_dropout(data, monkeypatch, plan):
    seen = recorded_batches(monkeypatch, data)
    cfg = config(seeds=(0, 1), modality_dropout=0.5)

    def draws(results, seed):
        order, dropped = zip(*seen[id(results[seed].model)], strict=True)
        return torch.cat(order), torch.cat(dropped)  # both epochs, batch after batch

    both = train(cfg, *data, progress=False, plan=plan)
    (order, dropped), (other_order, other_dropped) = (draws(both, seed) for seed in (0, 1))
    assert len(order) == 2 * 64 and sorted(order[:64].tolist()) == list(range(64))
    assert set(dropped.tolist()) == {0, 1, 2}
    assert not torch.equal(order, other_order), "seeds 0 and 1: the same batch order"
    assert not torch.equal(dropped, other_dropped), "seeds 0 and 1: the same dropout draws"
    for seed, drawn in ((0, (order, dropped)), (1, (other_order, other_dropped))):
        alone = train(config(seeds=(seed,), modality_dropout=0.5), *data, progress=False)
        for got, expected in zip(draws(alone, seed), drawn, strict=True):
            assert torch.equal(got, expected), f"seed {seed} alone draws otherwise"


def test_class_weights_are_the_inverse_class_frequency(data, monkeypatch):
    prepared, splits, stats = data
    train_rows = [r for r in splits["train"] if prepared.labels[r] == 0][:32]  # 32 cubes
    train_rows += [r for r in splits["train"] if prepared.labels[r] == 1][:8]  # 8 spheres
    imbalanced = {**splits, "train": train_rows}
    weights = []
    original = F.cross_entropy

    def spy(*args, weight=None, **kwargs):
        weights.append(weight)
        return original(*args, weight=weight, **kwargs)

    monkeypatch.setattr(F, "cross_entropy", spy)
    train(config(class_weights=True), prepared, imbalanced, stats, progress=False)
    used = [w for w in weights if w is not None]
    assert len(used) == 2 * 3  # every training batch (2 epochs of 40 in 16s), no validation
    for weight in used:  # 40 / (2 * 32), 40 / (2 * 8): mean weight 1 over the train samples
        torch.testing.assert_close(weight, torch.tensor([0.625, 2.5]))
    weights.clear()
    train(config(), prepared, imbalanced, stats, progress=False)
    assert weights and all(w is None for w in weights)


def test_class_weights_and_modality_dropout_train(data):
    result = train_one(config(class_weights=True, modality_dropout=0.5), *data)
    assert np.isfinite(result.history["train_loss"]).all()
    assert result.metrics["val_accuracy"] > 0.7


def test_wandb_offline_run_is_written_outside_the_repo(data, tmp_path, monkeypatch):
    wandb = pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.chdir(tmp_path)
    train(config("early", seeds=(0, 1)), *data, progress=False)
    wandb.teardown()  # stop W&B's service, which writes the run file asynchronously
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 2  # one run per (strategy, seed)
    for run in runs:
        (record,) = run.glob("run-*.wandb")
        logged = record.read_bytes()  # config, per-epoch history and summary records
        for key in (b"early-seed", b"trainable_params", b"val_loss", b"samples_per_second"):
            assert key in logged, key
        assert b"early" in logged  # the group


def test_each_seed_is_its_own_run_and_reproduces_alone(data):
    torch.set_num_threads(2)
    try:  # CPU plan "threads": 2 seeds in concurrent threads, one CPU thread each
        both = train(config(seeds=(0, 1)), *data, progress=False)
        torch.set_num_threads(1)  # seed 1 alone, on the same one thread
        alone = train(config(seeds=(1,)), *data, progress=False)
    finally:
        torch.set_num_threads(NUM_THREADS)
    assert list(both) == [0, 1] and list(alone) == [1]
    assert both[1].metrics["seeds_trained_together"] == 2
    differ = [not torch.equal(v, both[1].model.state_dict()[k])
              for k, v in both[0].model.state_dict().items()]
    assert any(differ)  # the seed changes the weights
    for key, value in alone[1].model.state_dict().items():  # and a seed does not depend on others
        assert torch.equal(value, both[1].model.state_dict()[key]), key
    assert both[1].metrics["seed"] == 1
    pd.testing.assert_frame_equal(alone[1].history, both[1].history)


@pytest.mark.parametrize("fusion", ["attention", "late", "film"])
def test_stacked_seeds_train_to_the_same_weights_as_separate_runs(data, fusion):
    """One SeedStack of 3 seeds (one kernel per layer for all) = 3 runs one after another."""
    cfg = config(fusion, seeds=(0, 1, 2), modality_dropout=0.3, class_weights=True)
    separate = train(cfg, *data, progress=False, plan="sequence")
    stacked = train(cfg, *data, progress=False, plan="stack")
    assert list(stacked) == [0, 1, 2]
    for seed, result in stacked.items():
        assert result.metrics["seeds_trained_together"] == 3
        assert separate[seed].metrics["seeds_trained_together"] == 1
        pd.testing.assert_frame_equal(result.history, separate[seed].history, rtol=1e-4)
        weights, reference = result.model.state_dict(), separate[seed].model.state_dict()
        assert weights.keys() == reference.keys()
        for key, value in reference.items():
            # Rounding differs, and Adam turns a zero gradient's rounding (attention's key bias)
            # into full steps: 1e-4 is a tenth of one step at lr 1e-3.
            torch.testing.assert_close(weights[key], value, rtol=0, atol=1e-4, msg=key)
            assert weights[key].is_contiguous()
    first, second = (next(iter(stacked[s].model.state_dict().values())) for s in (0, 1))
    assert not torch.equal(first, second)  # the members are not copies of one another


def test_seed_plan_stacks_on_cuda_threads_on_a_multicore_cpu(data):
    assert seed_plan(torch.device("cuda"), 3) == "stack"
    assert seed_plan(torch.device("mps"), 3) == "sequence"
    assert seed_plan(torch.device("cpu"), 1) == "sequence"
    torch.set_num_threads(2)
    try:
        assert seed_plan(torch.device("cpu"), 3) == "threads"
        torch.set_num_threads(1)
        assert seed_plan(torch.device("cpu"), 3) == "sequence"
    finally:
        torch.set_num_threads(NUM_THREADS)
    with pytest.raises(ValueError, match="plan: expected 'stack', 'threads' or 'sequence'"):
        train(config(), *data, progress=False, plan="vmap")
    assert torch.get_num_threads() == NUM_THREADS  # a threaded run gives the threads back
