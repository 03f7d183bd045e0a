"""Properties every registered strategy must have, parametrised over the registry."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from fusion.params import ModelParams
from fusion.strategies import available, build, check

SMALL = ModelParams(feature_dim=16, heads=4)
SIZE = 16  # H = W; an encoder grid of 2 x 2
UNIMODAL = {"rgb_only": "rgb", "lidar_only": "lidar"}
FUSED = [name for name in available() if name not in UNIMODAL]

# Notebook A's table (feature_dim 128, 64x64 inputs); its "late" row was really `concat`.
NOTEBOOK_PARAMS = {
    "early": 8_387_990,
    "concat": 16_672_374,
    "add": 8_480_374,
    "hadamard": 8_480_374,
    "matmul": 8_480_374,
}


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def inputs(batch: int = 4, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    rgb, xyza = torch.randn(2, batch, 4, SIZE, SIZE, generator=torch.Generator().manual_seed(seed))
    return rgb, xyza


def test_registry_holds_every_strategy():
    assert available() == sorted(
        ["early", "concat", "add", "hadamard", "matmul", "late", "rgb_only", "lidar_only",
         "gated", "film", "attention"]
    )


@pytest.mark.parametrize("lookup", [check, lambda name: build(name, SMALL, SIZE)])
def test_unknown_strategy_lists_the_available_names(lookup):
    with pytest.raises(ValueError, match="unknown fusion strategy 'bilinear'") as error:
        lookup("bilinear")
    assert all(name in str(error.value) for name in available())


@pytest.mark.parametrize("name", ["early", "add", "attention"])
def test_image_size_must_be_a_multiple_of_8(name):
    with pytest.raises(ValueError, match="multiple of 8"):
        build(name, SMALL, 20)


@pytest.mark.parametrize(("name", "count"), NOTEBOOK_PARAMS.items())
def test_parameter_counts_match_notebook_a(name, count):
    assert n_params(build(name, ModelParams(feature_dim=128), 64)) == count


def test_late_is_two_unimodal_classifiers():
    late, rgb_only, lidar_only = (n_params(build(n, SMALL, SIZE)) for n in ("late", *UNIMODAL))
    assert late == rgb_only + lidar_only


@pytest.mark.parametrize("name", available())
def test_maps_two_images_to_two_logits(name):
    rgb, xyza = inputs(batch=3)
    logits = build(name, SMALL, SIZE)(rgb, xyza)
    assert logits.shape == (3, 2)
    assert torch.isfinite(logits).all()


def backward_after_one_step(name: str) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """Build, take one Adam step (so zero-initialised paths such as FiLM's open), then
    backpropagate again, into the parameters and both inputs."""
    torch.manual_seed(0)
    model = build(name, SMALL, SIZE)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    rgb, xyza = inputs()
    labels = torch.tensor([0, 1, 0, 1])
    nn.functional.cross_entropy(model(rgb, xyza), labels).backward()
    optimizer.step()
    optimizer.zero_grad()
    rgb.requires_grad_(True)
    xyza.requires_grad_(True)
    nn.functional.cross_entropy(model(rgb, xyza), labels).backward()
    return model, rgb, xyza


def assert_every_parameter_learns(model: nn.Module) -> None:
    dead = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert not dead, f"parameters without gradient: {dead}"


@pytest.mark.parametrize("name", FUSED)
def test_gradient_reaches_both_modalities(name):
    model, rgb, xyza = backward_after_one_step(name)
    assert rgb.grad.abs().sum() > 0 and xyza.grad.abs().sum() > 0
    assert_every_parameter_learns(model)  # both encoders included


@pytest.mark.parametrize(("name", "modality"), UNIMODAL.items())
def test_unimodal_ignores_the_other_modality(name, modality):
    model, rgb, xyza = backward_after_one_step(name)
    used, ignored = (rgb, xyza) if modality == "rgb" else (xyza, rgb)
    assert used.grad.abs().sum() > 0
    assert ignored.grad is None  # not even in the graph
    assert_every_parameter_learns(model)  # so no encoder for the ignored modality exists
    with torch.no_grad():
        before = model(rgb, xyza)
        ignored.normal_()
        assert torch.equal(model(rgb, xyza), before)


@pytest.mark.parametrize("name", available())
def test_overfits_a_small_batch(name):
    torch.manual_seed(0)
    model = build(name, SMALL, SIZE)
    rgb, xyza = inputs(batch=16, seed=1)
    labels = torch.randint(0, 2, (16,), generator=torch.Generator().manual_seed(2))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(100):
        loss = nn.functional.cross_entropy(model(rgb, xyza), labels)
        if loss.item() < 0.05:
            break
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05


def trained_one_step(name: str) -> nn.Module:
    """Built with a fixed seed, one Adam step taken (FiLM's zero-initialised LiDAR path opens
    only then), in eval mode."""
    torch.manual_seed(0)
    model = build(name, SMALL, SIZE)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    rgb, xyza = inputs()
    nn.functional.cross_entropy(model(rgb, xyza), torch.tensor([0, 1, 0, 1])).backward()
    optimizer.step()
    return model.eval()


@pytest.mark.parametrize("name", FUSED)
def test_changing_either_input_alone_changes_the_logits(name):
    """A gradient reaching an input is not enough: one input changed at a time, in eval mode,
    must change every sample's logits."""
    model = trained_one_step(name)
    rgb, xyza = inputs(seed=1)
    other_rgb, other_xyza = inputs(seed=2)
    with torch.no_grad():
        logits = model(rgb, xyza)
        torch.testing.assert_close(model(rgb, xyza), logits)  # deterministic in eval mode
        moved_by_rgb = (model(other_rgb, xyza) - logits).abs().amax(dim=1)
        moved_by_xyza = (model(rgb, other_xyza) - logits).abs().amax(dim=1)
    # Every sample of the batch, not just one: a model that reads one modality for some rows only
    # would not pass.
    assert (moved_by_rgb > 1e-6).all(), f"{name}: RGB leaves logits unchanged: {moved_by_rgb}"
    assert (moved_by_xyza > 1e-6).all(), f"{name}: XYZA leaves logits unchanged: {moved_by_xyza}"
