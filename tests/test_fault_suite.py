"""The fault suite as evaluation runs it (fusion.faults.suite): balanced cells, each sample
under its own cell's fault, and relative accuracies whose per-sample columns average to the
ratios they stand for."""

import numpy as np
import pytest
import torch

from fusion.faults import FAULTS, available
from fusion.faults.rig import ALIGNED
from fusion.faults.suite import CONTROL, GROUPS, assign, cells, corrupt, relative_columns

N = 120


@pytest.fixture(scope="module")
def raw():
    g = torch.Generator().manual_seed(0)
    rgb = torch.randint(0, 256, (N, 4, 8, 8), generator=g, dtype=torch.uint8)
    rgb[:, 3] = 255
    rays = torch.nn.functional.normalize(torch.randn(N, 3, 8, 8, generator=g), dim=1)
    valid = torch.rand(N, 1, 8, 8, generator=g) > 0.3
    distance = torch.where(valid, 5 + 10 * torch.rand(N, 1, 8, 8, generator=g), 50.0)
    return rgb, torch.cat([rays * distance, valid.float()], dim=1)


def test_every_cell_gets_its_share_of_samples_and_the_control_mirrors_alignment():
    for group in GROUPS:
        cell = assign(N, group, seed=0)
        counts = np.bincount(cell, minlength=len(cells(group)))
        assert counts.max() - counts.min() <= 1 and counts.sum() == N
    assert np.array_equal(assign(N, CONTROL, 0), assign(N, "alignment", 0))
    assert [FAULTS[f].control for f, _ in cells("alignment")] == [f for f, _ in cells(CONTROL)]
    assert not np.array_equal(assign(N, "camera", 0), assign(N, "camera", 1))
    few = assign(len(available("camera")), "camera", 0)  # one sample per fault: all met
    assert {cells("camera")[k][0] for k in few} == set(available("camera"))
    with pytest.raises(ValueError, match="cannot meet its 7 faults"):
        assign(6, "camera", 0)
    assert {f for g in GROUPS for f, _ in cells(g)} == set(available())


def test_each_sample_meets_its_own_cell_and_nothing_else(raw):
    rgb, xyza = raw
    for group in (*GROUPS, CONTROL):
        cell = assign(N, group, seed=5)
        out_rgb, out_xyza = corrupt(rgb, xyza, group, cell, 5, 50.0, ALIGNED)
        for k, (name, severity) in enumerate(cells(group)):
            index = torch.from_numpy(np.flatnonzero(cell == k))
            generator = torch.Generator().manual_seed(5 * 1000 + k)
            want_rgb, want_xyza = FAULTS[name](rgb[index], xyza[index], severity, generator,
                                               50.0, ALIGNED)
            assert torch.equal(out_rgb[index], want_rgb.float()), (group, name, severity)
            assert torch.equal(out_xyza[index], want_xyza), (group, name, severity)
        if group == "camera":
            assert torch.equal(out_xyza, xyza)
        if group == "lidar":
            assert torch.equal(out_rgb, rgb.float())
    assert rgb.dtype == torch.uint8  # the input is not changed


def test_relative_columns_average_to_the_ratios_they_stand_for():
    rng = np.random.default_rng(0)
    correct = (rng.random(N) < 0.9).astype(float)
    cell = {g: assign(N, g, 0) for g in (*GROUPS, CONTROL)}
    under = {g: correct * (rng.random(N) < 0.7) for g in (*GROUPS, CONTROL)}
    out = relative_columns(correct, under, cell)
    for group in (*GROUPS, CONTROL):
        assert out[f"ra_{group}"].mean() == pytest.approx(under[group].mean() / correct.mean())
        for name in dict.fromkeys(f for f, _ in cells(group)):
            mine = np.isin(cell[group], [k for k, (f, _) in enumerate(cells(group)) if f == name])
            assert out[f"accuracy_{name}"].mean() == pytest.approx(under[group][mine].mean())
            assert out[f"ra_{name}"].mean() == pytest.approx(
                under[group][mine].mean() / correct.mean())
    assert out["mRA"].mean() == pytest.approx(np.mean([out[f"ra_{f}"].mean()
                                                       for f in available()]))
    assert "ra_shift_both" in out and "shift_both" not in available()  # a control, not a fault


def test_a_model_unaffected_by_a_fault_keeps_all_its_accuracy():
    correct = (np.arange(N) % 3 > 0).astype(float)
    cell = {g: assign(N, g, 0) for g in GROUPS}
    out = relative_columns(correct, {g: correct for g in GROUPS}, cell)
    for group in GROUPS:
        assert out[f"ra_{group}"].mean() == pytest.approx(1.0)
    out = relative_columns(np.ones(N), {g: np.ones(N) for g in GROUPS}, cell)
    for name in available():
        assert out[f"ra_{name}"].mean() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="clean accuracy is 0"):
        relative_columns(np.zeros(N), {g: correct for g in GROUPS}, cell)
