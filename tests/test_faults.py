"""The sensor-fault registry (fusion.faults): every fault's invariants, then one test per fault
that a realistic bug in it would fail."""

import math

import numpy as np
import pytest
import torch

from fusion.data.geometry import angle_grid, depth_to_xyza
from fusion.faults import FAULTS, SENSORS, available, register
from fusion.faults.lidar import NEAR
from fusion.faults.rig import ALIGNED, rig_of
from fusion.params import synthetic_params
from fusion.synthetic import render

MAX_RANGE = 50.0
SIZE = 32
COURSE = synthetic_params({"scenario": "course", "image_size": SIZE})
RIG = rig_of(COURSE)


def rendered(params, per_class: int = 6):
    """RGBA uint8 and XYZA float32 (N, 4, H, W) of cubes then spheres, and the Scenes."""
    rng = np.random.default_rng(0)
    rgbs, depths, scenes = zip(*(render(rng, per_class, shape, params)
                                 for shape in ("cubes", "spheres")), strict=True)
    grid = angle_grid(params.image_size, params.fov_deg)
    rgb = torch.from_numpy(np.concatenate(rgbs)).permute(0, 3, 1, 2).contiguous()
    xyza = torch.from_numpy(depth_to_xyza(np.concatenate(depths), grid, grid, MAX_RANGE))
    return rgb, xyza, scenes


@pytest.fixture(scope="module")
def course():
    rgb, xyza, _ = rendered(COURSE)
    return rgb, xyza


@pytest.fixture
def full():
    """Every pixel a return, 10-45 m away along the course grid's rays; mid-grey RGB."""
    grid = angle_grid(SIZE, 32.0)
    depth = 10 + 35 * torch.rand(8, SIZE, SIZE, generator=torch.Generator().manual_seed(2))
    xyza = torch.from_numpy(depth_to_xyza(depth.numpy(), grid, grid, MAX_RANGE))
    rgb = torch.full((8, 4, SIZE, SIZE), 128, dtype=torch.uint8)
    rgb[:, 3] = 255
    return rgb, xyza


def apply(name, rgb, xyza, severity, seed=0, rig=RIG):
    return FAULTS[name](rgb, xyza, severity, torch.Generator().manual_seed(seed), MAX_RANGE, rig)


def centroids(masks):  # (N, 2) mean (row, column) of each mask (N, H, W)
    rows, cols = torch.meshgrid(*(torch.arange(n) for n in masks.shape[1:]), indexing="ij")
    count = masks.sum((1, 2)).clamp(min=1)
    return torch.stack([(masks * rows).sum((1, 2)), (masks * cols).sum((1, 2))], 1) / count[:, None]


def lost_returns(before, after):  # (N, H, W) bool: returns that became missing
    return (before[:, 3] == 1) & (after[:, 3] == 0)


ALL = sorted(FAULTS)
SEEDLESS = {"darkness", "overexposure", "haze"}  # no random draw


# --- the registry ---------------------------------------------------------------------------


def test_registry_describes_every_fault_and_pairs_each_misalignment_with_its_control():
    for fault in FAULTS.values():
        assert fault.sensor in SENSORS and fault.unit and "\n" not in fault.description
        assert 3 <= len(fault.severities) <= 5 and list(fault.severities) == sorted(
            set(fault.severities))
    controls = {name for name in FAULTS if FAULTS[name].is_control}
    assert controls == {"shift_both", "rotate_both"} and not controls & set(available())
    assert {name: FAULTS[name].control for name in available("alignment")} == {
        "camera_shift": "shift_both", "camera_rotation": "rotate_both"}
    assert [FAULTS[n].sensor for n in available()] == sorted(
        (FAULTS[n].sensor for n in available()), key=SENSORS.index)


def test_adding_a_fault_is_one_function_and_one_line(course):
    @register("invert", "camera", (0.25, 0.5, 1.0), "blend", (0, 1))
    def invert(rgb, amount, generator):
        """Test fault: the picture blended toward its negative."""
        return torch.cat([rgb[:, :3].float() * (1 - 2 * amount) + 255 * amount,
                          rgb[:, 3:].float()], dim=1)

    try:
        assert "invert" in available("camera")
        assert FAULTS["invert"].description.startswith("Test fault: the picture blended")
        rgb, xyza = course
        assert apply("invert", rgb, xyza, 1.0)[1] is xyza
        with pytest.raises(ValueError, match="already registered"):
            register("invert", "camera", (1, 2, 3), "x", (0, 3))(invert)
    finally:
        del FAULTS["invert"]
    with pytest.raises(ValueError, match="strictly increasing"):
        register("bad", "lidar", (2, 1, 3), "x", (0, 3))(invert)
    with pytest.raises(ValueError, match="sensor"):
        register("bad", "radar", (1, 2, 3), "x", (0, 3))(invert)


# --- invariants, every fault ----------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_severity_zero_is_the_clean_input(course, name):
    rgb, xyza = course
    out_rgb, out_xyza = apply(name, rgb, xyza, 0)
    assert torch.equal(out_rgb, rgb.float()) and torch.equal(out_xyza, xyza)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_shapes_dtypes_and_the_inputs_are_never_modified(course, name, dtype):
    rgb, xyza = course[0].to(dtype), course[1].clone()
    rgb_before, xyza_before = rgb.clone(), xyza.clone()
    for severity in FAULTS[name].severities:
        out_rgb, out_xyza = apply(name, rgb, xyza, severity)
        assert out_rgb.shape == out_xyza.shape == rgb.shape
        assert out_xyza.dtype == torch.float32
        assert out_rgb.dtype == (dtype if FAULTS[name].sensor == "lidar" else torch.float32)
    assert torch.equal(rgb, rgb_before) and torch.equal(xyza, xyza_before)


@pytest.mark.parametrize("name", ALL)
def test_only_the_faulty_sensor_changes_and_alpha_keeps_its_meaning(course, name):
    rgb, xyza = course
    fault = FAULTS[name]
    rays = torch.nn.functional.normalize(xyza[:, :3], dim=1)
    for severity in fault.severities:
        out_rgb, out_xyza = apply(name, rgb, xyza, severity)
        if fault.sensor == "lidar":
            assert torch.equal(out_rgb, rgb)
        elif not fault.is_control:  # a camera fault or a misalignment of the camera
            assert torch.equal(out_xyza, xyza)
        assert torch.equal(out_rgb[:, 3], rgb[:, 3].float())  # RGB alpha untouched
        assert 0 <= out_rgb[:, :3].min() and out_rgb[:, :3].max() <= 255
        alpha = out_xyza[:, 3]
        assert ((alpha == 0) | (alpha == 1)).all()
        distance = out_xyza[:, :3].norm(dim=1)
        torch.testing.assert_close(distance[alpha == 0], torch.full_like(distance[alpha == 0],
                                                                         MAX_RANGE))
        cosine = (torch.nn.functional.normalize(out_xyza[:, :3], dim=1) * rays).sum(1)
        assert (cosine > 1 - 1e-5).all()  # no pixel's ray moves, even under misalignment
        untouched = (out_xyza == xyza).all(1)
        assert torch.equal(out_xyza.permute(0, 2, 3, 1)[untouched],
                           xyza.permute(0, 2, 3, 1)[untouched])


@pytest.mark.parametrize("name", ALL)
def test_deterministic_for_a_seed_and_different_for_another(course, name):
    rgb, xyza = course
    severity = FAULTS[name].severities[1]
    first, again, other = (apply(name, rgb, xyza, severity, seed) for seed in (0, 0, 1))
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    same = all(torch.equal(a, b) for a, b in zip(first, other, strict=True))
    assert same == (name in SEEDLESS)


@pytest.mark.parametrize("name", ALL)
def test_the_effect_grows_with_severity(course, name):
    rgb, xyza = course

    def change(severity):
        out_rgb, out_xyza = apply(name, rgb, xyza, severity)
        return ((out_rgb - rgb.float()).abs().mean() / 255
                + (out_xyza - xyza).abs().mean() / MAX_RANGE).item()

    changes = [change(s) for s in (0, *FAULTS[name].severities)]
    assert all(a < b for a, b in zip(changes, changes[1:], strict=False)), changes


@pytest.mark.parametrize("name", ALL)
def test_a_bad_severity_is_a_clear_error(course, name):
    rgb, xyza = course
    high = FAULTS[name].limits[1]
    bad = [-1, math.nan, math.inf, high + 1] + ([1.5] if FAULTS[name].integer else [])
    for severity in bad:
        with pytest.raises(ValueError, match=rf"{name}.*{severity}"):
            apply(name, rgb, xyza, severity)


def test_an_alignment_fault_needs_the_rig(course):
    with pytest.raises(ValueError, match="camera_shift.*rig"):
        apply("camera_shift", *course, 2, rig=None)


# --- one test per fault ---------------------------------------------------------------------


def test_darkness_and_overexposure_are_gains_in_stops_saturating_at_255(course):
    rgb, xyza = course
    colour = rgb[:, :3].float()
    torch.testing.assert_close(apply("darkness", rgb, xyza, 2)[0][:, :3], colour / 4)
    torch.testing.assert_close(apply("overexposure", rgb, xyza, 1)[0][:, :3],
                               (colour * 2).clamp(max=255))
    assert (apply("overexposure", rgb, xyza, 4)[0][:, :3][colour >= 16] == 255).all()


def test_haze_blends_toward_a_grey_veil(course):
    rgb, xyza = course
    hazy = apply("haze", rgb, xyza, 0.75)[0][:, :3]
    torch.testing.assert_close(hazy, rgb[:, :3].float() * 0.25 + 128 * 0.75)
    assert hazy.std() < rgb[:, :3].float().std() / 3  # contrast lost


def test_motion_blur_smears_a_point_into_a_line_of_its_length():
    point = torch.zeros(16, 4, 33, 33, dtype=torch.uint8)
    point[:, :3, 16, 16], point[:, 3] = 255, 255
    blurred = apply("motion_blur", point, torch.ones(16, 4, 33, 33), 9)[0][:, 0]
    torch.testing.assert_close(blurred.sum((1, 2)), torch.full((16,), 255.0))  # light kept
    for image in blurred:
        pixels = torch.nonzero(image > 1).float()
        assert 7 <= torch.cdist(pixels, pixels).max() <= 9.5  # 9 pixels end to end, any angle
        assert len(pixels) <= 3 * 9  # and a pixel or two thick (not a k x k box)


def test_occlusion_is_one_black_square_of_that_area(full):
    rgb, xyza = full
    occluded = apply("occlusion", rgb, xyza, 0.25)[0][:, 0]
    side = round(0.5 * SIZE)
    for image in occluded == 0:
        rows, cols = torch.nonzero(image, as_tuple=True)
        assert len(rows) == side**2  # the area, not the side, is the fraction
        assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (side, side)


def test_camera_noise_has_its_std_in_fractions_of_full_scale(full):
    rgb, xyza = full
    noisy = apply("camera_noise", rgb, xyza, 0.05)[0][:, :3]
    assert (noisy - 128).std().item() == pytest.approx(0.05 * 255, rel=0.05)


def test_missing_camera_blacks_out_exactly_that_fraction_of_frames(course):
    rgb, xyza = course
    out = apply("missing_camera", rgb, xyza, 0.5)[0]
    dead = (out[:, :3] == 0).flatten(1).all(1)
    assert dead.sum() == len(rgb) // 2
    assert torch.equal(out[~dead], rgb[~dead].float())


def test_beam_loss_loses_whole_columns(full):
    rgb, xyza = full
    lost = lost_returns(xyza, apply("beam_loss", rgb, xyza, 0.25)[1])  # (N, H, W)
    assert torch.equal(lost.any(1), lost.all(1))  # a beam is a COLUMN: lost top to bottom
    assert (lost.all(1).sum(1) == round(0.25 * SIZE)).all()


def test_point_loss_loses_that_fraction_of_returns_at_random(full):
    rgb, xyza = full
    lost = lost_returns(xyza, apply("point_loss", rgb, xyza, 0.25)[1])
    assert lost.float().mean().item() == pytest.approx(0.25, abs=0.02)
    assert not torch.equal(lost.any(1), lost.all(1))


def test_lidar_fog_loses_far_returns_and_adds_near_ones(full):
    rgb, xyza = full
    extinction = 0.1
    visibility = math.log(20) / extinction  # ~30 m
    foggy = apply("lidar_fog", rgb, xyza, extinction)[1]
    before, after = xyza[:, :3].norm(dim=1), foggy[:, :3].norm(dim=1)
    changed = (foggy != xyza).any(1)
    spurious = changed & (foggy[:, 3] == 1)
    assert ((after[spurious] >= NEAR[0]) & (after[spurious] <= NEAR[1])).all()
    assert 0 < spurious.float().mean() < 0.2
    assert (foggy[:, 3][(before > visibility) & ~spurious] == 0).all()  # far returns lost
    assert not changed[(before < visibility) & ~spurious].any()  # near ones kept


def test_crosstalk_adds_returns_at_uniform_random_ranges(course):
    rgb, xyza = course
    out = apply("crosstalk", rgb, xyza, 0.1)[1]
    changed = (out != xyza).any(1)
    assert changed.float().mean().item() == pytest.approx(0.1, abs=0.02)
    assert (out[:, 3][changed] == 1).all()
    distance = out[:, :3].norm(dim=1)[changed]
    assert distance.mean().item() == pytest.approx(MAX_RANGE / 2, rel=0.1)
    assert distance.min() < 5 and distance.max() > MAX_RANGE - 5


def test_fov_loss_loses_one_contiguous_sector_of_rows(full):
    rgb, xyza = full
    lost = lost_returns(xyza, apply("fov_loss", rgb, xyza, 0.25)[1])
    assert torch.equal(lost.any(2), lost.all(2))  # a sector of azimuth is a set of ROWS
    for rows in lost.all(2):
        index = torch.nonzero(rows).flatten()
        assert len(index) == round(0.25 * SIZE) and index[-1] - index[0] == len(index) - 1


def test_range_noise_has_its_std_in_metres_along_the_ray(full):
    rgb, xyza = full
    noisy = apply("range_noise", rgb, xyza, 0.5)[1]
    delta = noisy[:, :3].norm(dim=1) - xyza[:, :3].norm(dim=1)
    assert delta.std().item() == pytest.approx(0.5, rel=0.05)


def test_missing_lidar_loses_every_return_of_that_fraction_of_frames(course):
    rgb, xyza = course
    out = apply("missing_lidar", rgb, xyza, 0.5)[1]
    dead = (out[:, 3] == 0).flatten(1).all(1) & (xyza[:, 3] == 1).flatten(1).any(1)
    assert dead.sum() == len(xyza) // 2
    assert torch.equal(out[~dead], xyza[~dead])


def test_camera_shift_moves_the_picture_by_whole_pixels_without_wrapping(course):
    rgb, xyza = course
    shifted = apply("camera_shift", rgb, xyza, 3)[0]
    for before, after in zip(rgb.float(), shifted, strict=True):
        matches = [(dr, dc) for dr, dc in ((3, 0), (-3, 0), (0, 3), (0, -3))
                   if torch.equal(after[:3], shift_or_black(before[:3], dr, dc))]
        assert len(matches) == 1


def shift_or_black(image, dr, dc):  # (C, H, W) moved by (dr, dc), uncovered pixels black
    out = torch.roll(image, (dr, dc), dims=(1, 2))
    h, w = image.shape[1:]
    rows, cols = torch.arange(h).view(-1, 1) - dr, torch.arange(w).view(1, -1) - dc
    return out * ((rows >= 0) & (rows < h) & (cols >= 0) & (cols < w))


def test_shift_both_moves_the_range_image_as_the_rig_maps_the_camera_shift():
    rgb, xyza, _ = rendered(COURSE, per_class=10)
    lit = rgb[:, :3].float().sum(1) > 30  # (N, H, W)

    moved_rgb, moved_xyza = apply("shift_both", rgb, xyza, 2)
    camera_rgb, camera_xyza = apply("camera_shift", rgb, xyza, 2)
    assert torch.equal(moved_rgb, camera_rgb) and torch.equal(camera_xyza, xyza)  # paired
    camera_move = centroids(moved_rgb[:, :3].sum(1) > 30) - centroids(lit)
    lidar_move = centroids(moved_xyza[:, 3] == 1) - centroids(xyza[:, 3] == 1)
    expected = camera_move @ torch.tensor(RIG.camera_to_range).T
    inside = (moved_xyza[:, 3].sum((1, 2)) == xyza[:, 3].sum((1, 2)))  # not cut by the edge
    torch.testing.assert_close(lidar_move[inside], expected[inside], atol=0.6, rtol=0)


def test_the_rig_of_the_course_scenario_maps_the_camera_onto_the_range_image():
    _, _, scenes = rendered(COURSE, per_class=20)
    x, y = (centroids(torch.from_numpy(np.concatenate([getattr(s, hit) for s in scenes])))
            for hit in ("camera_hit", "lidar_hit"))
    fit = torch.linalg.lstsq(x - x.mean(0), y - y.mean(0)).solution.T  # y = fit x
    torch.testing.assert_close(fit, torch.tensor(RIG.camera_to_range), atol=0.1, rtol=0)
    assert rig_of(synthetic_params({"scenario": "failures"})) == ALIGNED


def test_camera_rotation_by_a_quarter_turn_is_rot90_and_its_control_turns_both():
    rgb, xyza, _ = rendered(synthetic_params({"scenario": "failures", "image_size": SIZE}), 4)
    turned = apply("camera_rotation", rgb, xyza, 90, rig=ALIGNED)[0]
    both_rgb, both_xyza = apply("rotate_both", rgb, xyza, 90, rig=ALIGNED)
    assert torch.equal(both_rgb, turned)
    for i, (before, after) in enumerate(zip(rgb.float(), turned, strict=True)):
        senses = [k for k in (1, -1) if torch.equal(after, torch.rot90(before, k, (1, 2)))]
        assert len(senses) == 1  # a quarter turn one way or the other, nothing wrapped
        assert torch.equal(both_xyza[i, 3], torch.rot90(xyza[i, 3], senses[0]))  # the same
