import dataclasses
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fusion.data.geometry import angle_grid, depth_to_xyza, direction, ray_directions
from fusion.params import Counts, SyntheticParams
from fusion.synthetic import LOW_REFLECTIVITY_RETURN_RATE, camera, generate, lidar, render

NOISE_FREE = dict(depth_noise=0.0, dropout=0.0, rgb_noise=0.0, camera_failure=0.0,
                  lidar_failure=0.0)


def tiny(**overrides) -> SyntheticParams:
    return dataclasses.replace(SyntheticParams(), **{"image_size": 24, **overrides})


def render_tiny(shape: str, n: int = 6, **overrides):
    return render(np.random.default_rng(0), n, shape, tiny(**overrides))


def flat_xyza(depth: np.ndarray, params: SyntheticParams) -> np.ndarray:
    """(n, H, W) range images -> (n, 4, H * W) XYZA with the sensor's angles."""
    angles = angle_grid(params.image_size, params.fov_deg)
    return depth_to_xyza(depth, angles, angles, params.max_range).reshape(len(depth), 4, -1)


def object_frame(points: np.ndarray, objects) -> np.ndarray:
    """(n, 3, K) sensor-frame points -> object frame R^T (p - c), in units of half the size."""
    offset = points - objects.centre[:, :, None]
    return np.einsum("nji,njk->nik", objects.rotation, offset) / (objects.size[:, None, None] / 2)


def surface_gauge(points: np.ndarray, objects) -> np.ndarray:
    """(n, 3, K) points -> (n, K): 1 on the object's surface, < 1 inside, > 1 outside."""
    local = object_frame(points, objects)
    if objects.shape == "spheres":
        return np.linalg.norm(local, axis=1)
    return np.abs(local).max(axis=1)


def surface_normals(points: np.ndarray, objects) -> np.ndarray:
    """(n, 3, K) sensor-frame unit normals at the surface points (n, 3, K)."""
    local = object_frame(points, objects)
    if objects.shape == "spheres":
        local_normal = local / np.linalg.norm(local, axis=1, keepdims=True)
    else:
        face = np.abs(local).argmax(axis=1)[:, None]
        local_normal = np.where(np.arange(3)[:, None] == face, np.sign(local), 0.0)
    return objects.rotation @ local_normal


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, SyntheticParams]:
    params = tiny(image_size=16, counts=Counts(cubes=3, spheres=1))
    root = tmp_path_factory.mktemp("synthetic") / "data"
    generate(params, root, progress=False)
    return root, params


def file_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("shape", ["cubes", "spheres"])
def test_noise_free_returns_lie_on_the_true_surface(shape):
    params = tiny(**NOISE_FREE)
    rgb, depth, scenes = render_tiny(shape, **NOISE_FREE)
    objects, n = scenes.objects, len(depth)
    xyza = flat_xyza(depth, params)
    returns = xyza[:, 3] == 1
    np.testing.assert_array_equal(returns, scenes.lidar_hit.reshape(n, -1))
    assert returns.any(axis=1).all() and not returns.all()  # every object seen, some misses
    # Ambient light makes every object pixel non-black: RGB (i, j) sees what range (i, j) sees.
    np.testing.assert_array_equal(scenes.camera_hit, scenes.lidar_hit)
    np.testing.assert_array_equal(rgb[..., :3].max(axis=-1) > 0, scenes.lidar_hit)

    points = xyza[:, :3].astype(np.float64)
    np.testing.assert_allclose(surface_gauge(points, objects)[returns], 1.0, atol=1e-5)
    assert (surface_gauge(0.99 * points, objects)[returns] > 1).all()  # the first hit, not the back

    assert (depth.reshape(n, -1)[~returns] == params.max_range).all()
    angles = angle_grid(params.image_size, params.fov_deg)
    rays = ray_directions(angles, angles).reshape(-1, 3).T  # (3, P)
    steps = np.linspace(0.1, params.distance[1] + params.size[1], 300)
    along = (steps[:, None, None] * rays).transpose(1, 0, 2).reshape(3, -1)  # (3, steps * P)
    gauge = surface_gauge(np.broadcast_to(along, (n, *along.shape)), objects)
    closest = gauge.reshape(n, len(steps), -1).min(axis=1)
    assert (closest[~returns] > 1).all()  # misses never pass through the object


@pytest.mark.parametrize("shape", ["cubes", "spheres"])
def test_shading_is_lambertian_with_the_true_normal(shape):
    knobs = {**NOISE_FREE, "exposure": (0.6, 0.6)}  # no clipping: brightness is linear
    rgb, depth, scenes = render_tiny(shape, **knobs)
    objects = scenes.objects
    assert (objects.light[:, 1] <= 0).all()  # lit from the sensor's side
    points = flat_xyza(depth, tiny(**knobs))[:, :3]
    cosine = np.maximum((surface_normals(points, objects) * objects.light[:, :, None]).sum(1), 0)
    brightness = rgb[..., :3].sum(-1).reshape(len(depth), -1).astype(np.float64)
    hits = scenes.lidar_hit.reshape(len(depth), -1)
    for hit, cos, level in zip(hits, cosine, brightness, strict=True):
        design = np.stack([np.ones(hit.sum()), cos[hit]], axis=1)  # level = ambient + k * cosine
        coefficients = np.linalg.lstsq(design, level[hit], rcond=None)[0]
        assert np.abs(design @ coefficients - level[hit]).max() <= 1.5 + 1e-6  # 3 x rounding
        assert coefficients[1] > 0 or np.ptp(cos[hit]) == 0


def test_generated_files_follow_the_assessment_layout(generated):
    root, params = generated
    size = params.image_size
    for shape, count in (("cubes", 3), ("spheres", 1)):
        stems = [f"{i:04d}" for i in range(count)]
        listing = {sub: sorted(p.name for p in (root / shape / sub).iterdir())
                   for sub in ("rgb", "lidar")}
        assert listing == {"rgb": [f"{s}.png" for s in stems], "lidar": [f"{s}.npy" for s in stems]}
        for stem in stems:
            image = Image.open(root / shape / "rgb" / f"{stem}.png")
            assert image.mode == "RGBA" and image.size == (size, size)
            assert (np.asarray(image)[..., 3] == 255).all()
            scan = np.load(root / shape / "lidar" / f"{stem}.npy")
            assert scan.dtype == np.float32 and scan.shape == (size, size)
        for name in ("azimuth", "zenith"):
            angles = np.load(root / shape / f"{name}.npy")
            np.testing.assert_array_equal(angles, angle_grid(size, params.fov_deg))
            assert angles.dtype == np.float32


def test_a_class_with_zero_samples_still_gets_its_folders(tmp_path):
    root = tmp_path / "out"
    generate(tiny(image_size=8, counts=Counts(cubes=0, spheres=2)), root, progress=False)
    assert list((root / "cubes" / "rgb").iterdir()) == []
    assert list((root / "cubes" / "lidar").iterdir()) == []
    assert np.load(root / "cubes" / "azimuth.npy").shape == (8,)
    assert len(list((root / "spheres" / "lidar").iterdir())) == 2


def test_generation_is_byte_reproducible_and_seeded(generated, tmp_path):
    root, params = generated
    summary = generate(params, tmp_path / "same", progress=False)
    assert (summary["cubes"], summary["spheres"]) == (3, 1)
    assert file_bytes(tmp_path / "same") == file_bytes(root)

    generate(dataclasses.replace(params, seed=params.seed + 1), tmp_path / "other", progress=False)
    other, original = file_bytes(tmp_path / "other"), file_bytes(root)
    assert other.keys() == original.keys()
    assert all(other[name] != original[name] for name in other if "/lidar/" in name)


def test_camera_failure_hides_the_object_in_rgb():
    dark, _, scenes = render_tiny("spheres", n=8, camera_failure=1.0, lidar_failure=0.0)
    lit, _, _ = render_tiny("spheres", n=8, camera_failure=0.0, lidar_failure=0.0)
    assert scenes.objects.camera_failure.all() and not scenes.objects.lidar_failure.any()
    inside, outside = scenes.camera_hit, ~scenes.camera_hit
    assert abs(dark[inside][:, :3].mean() - dark[outside][:, :3].mean()) < 0.5
    assert abs(dark[inside][:, :3].std() - dark[outside][:, :3].std()) < 0.5
    assert lit[inside][:, :3].mean() - lit[outside][:, :3].mean() > 20


def test_lidar_failure_keeps_few_object_returns():
    _, depth, scenes = render_tiny("cubes", n=8, dropout=0.0, lidar_failure=1.0, camera_failure=0.0)
    assert scenes.objects.lidar_failure.all() and not scenes.objects.camera_failure.any()
    kept = (depth < SyntheticParams.max_range)[scenes.lidar_hit].mean()
    assert 0 < kept < 2 * LOW_REFLECTIVITY_RETURN_RATE


def test_failures_are_disjoint_and_cover_their_fractions():
    objects = render_tiny("cubes", n=64, camera_failure=0.5, lidar_failure=0.5)[2].objects
    assert not (objects.camera_failure & objects.lidar_failure).any()
    assert (objects.camera_failure | objects.lidar_failure).all()
    assert 16 < objects.camera_failure.sum() < 48


def test_noise_knobs_perturb_measurements_not_the_scene():
    _, clean, clean_scenes = render_tiny("spheres", n=8, **NOISE_FREE)
    noisy_knobs = {**NOISE_FREE, "depth_noise": 0.01, "dropout": 0.3}
    _, noisy, scenes = render_tiny("spheres", n=8, **noisy_knobs)
    np.testing.assert_array_equal(scenes.objects.centre, clean_scenes.objects.centre)
    kept = noisy < SyntheticParams.max_range
    assert 0.6 < kept[scenes.lidar_hit].mean() < 0.8
    relative_error = noisy[kept] / clean[kept] - 1
    assert 0.008 < relative_error.std() < 0.012


def test_an_object_that_would_enclose_the_sensor_is_rejected(tmp_path):
    params = tiny(distance=(1.0, 2.0), counts=Counts(cubes=1, spheres=1))
    with pytest.raises(ValueError, match="synthetic.distance"):
        generate(params, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_the_pinhole_camera_takes_an_ordinary_picture_along_its_aim():
    level = tiny(camera="pinhole", camera_hfov_deg=40.0, camera_vfov_deg=50.0)
    side = level.image_size
    rays = camera.rays(level).reshape(3, side, side)
    assert (np.diff(rays[0], axis=1) > 0).all() and (np.diff(rays[2], axis=0) < 0).all()
    for axis, fov in ((0, 40.0), (2, 50.0)):  # right along a row, up along a column
        edge = np.abs(rays[axis] / rays[1]).max()  # the outermost pixel centres
        assert edge == pytest.approx(np.tan(np.deg2rad(fov) / 2) * (side - 1) / side)

    aimed = dataclasses.replace(level, camera_azimuth_deg=5.0, camera_zenith_deg=-3.0)
    rays = camera.rays(aimed).reshape(3, side, side)
    middle = rays[:, side // 2 - 1:side // 2 + 1, side // 2 - 1:side // 2 + 1].sum(axis=(1, 2))
    np.testing.assert_allclose(middle / np.linalg.norm(middle), direction(np.deg2rad(5.0),
                                                                         np.deg2rad(-3.0)))
    across = rays[:, :, -1] - rays[:, :, 0]  # (3, H): each row stays level (no roll)
    np.testing.assert_allclose(across[2], 0, atol=1e-12)


def test_camera_sub_rays_spread_over_the_pixels_of_the_lidar_grid():
    params = tiny()
    np.testing.assert_allclose(camera.rays(params), lidar.rays(params), atol=1e-6)
    sub_rays = camera.rays(dataclasses.replace(params, camera_supersampling=2))
    per_pixel = sub_rays.reshape(3, -1, 4)
    assert np.ptp(per_pixel, axis=2).max() > 1e-3  # four distinct rays per pixel
    middle = per_pixel.mean(axis=2)
    np.testing.assert_allclose(middle / np.linalg.norm(middle, axis=0), lidar.rays(params),
                               atol=1e-5)


def test_supersampling_softens_the_edges_and_keeps_the_area():
    solid = {**NOISE_FREE, "shading": "flat", "ambient": (1.0, 1.0), "colour": (1.0, 1.0),
             "exposure": (1.0, 1.0)}  # every pixel's level = 255 x its share on the object
    sharp, _, _ = render_tiny("cubes", **solid)
    soft, _, scenes = render_tiny("cubes", **solid, camera_supersampling=4)
    assert set(np.unique(sharp[..., :3])) == {0, 255}
    edges = (soft[..., 0] > 0) & (soft[..., 0] < 255)
    assert edges.any(axis=(1, 2)).all()
    np.testing.assert_array_equal(soft[..., 0] > 0, scenes.camera_hit)
    area_sharp, area_soft = (image[..., 0].sum(axis=(1, 2)) / 255 for image in (sharp, soft))
    np.testing.assert_allclose(area_soft, area_sharp, rtol=0.1)


def test_a_fixed_light_and_flat_shading_show_only_the_lit_part_in_one_colour():
    knobs = {**NOISE_FREE, "light": "fixed", "light_direction": (-1.0, 0.3, 1.0),
             "shading": "flat", "ambient": (0.0, 0.0), "exposure": (1.0, 1.0)}
    rgb, depth, scenes = render_tiny("spheres", **knobs)
    light = np.array([-1.0, 0.3, 1.0]) / np.linalg.norm([-1.0, 0.3, 1.0])
    np.testing.assert_allclose(scenes.objects.light, np.broadcast_to(light, (len(rgb), 3)))
    points = flat_xyza(depth, tiny(**knobs))[:, :3]
    facing = (surface_normals(points, scenes.objects) * light[:, None]).sum(1)  # (n, P)
    lit = rgb[..., :3].max(-1).reshape(len(rgb), -1) > 0
    hit = scenes.lidar_hit.reshape(len(rgb), -1)
    assert lit[hit & (facing > 1e-3)].all() and not lit[~hit | (facing < -1e-3)].any()
    assert 0 < lit.sum() < 0.5 * hit.sum()  # lit from behind: less than half of the object
    for image, mask in zip(rgb, lit.reshape(scenes.lidar_hit.shape), strict=True):
        assert len(np.unique(image[mask][:, :3], axis=0)) == 1


def test_hue_colours_are_saturated_at_a_brightness_in_the_colour_range():
    knobs = {**NOISE_FREE, "shading": "flat", "ambient": (1.0, 1.0), "exposure": (1.0, 1.0),
             "colour_model": "hue", "colour": (0.5, 0.8)}
    rgb, _, scenes = render_tiny("spheres", n=16, **knobs)
    colours = np.stack([image[mask][0, :3] for image, mask in zip(rgb, scenes.camera_hit,
                                                                   strict=True)]) / 255
    assert (colours.min(axis=1) == 0).all()
    assert (colours.max(axis=1) >= 0.5 - 1 / 255).all()
    assert (colours.max(axis=1) <= 0.8 + 1 / 255).all()
    assert len(np.unique(colours.argmax(axis=1))) > 1  # hues vary


def test_cube_edge_scales_cubes_only():
    cubes = render_tiny("cubes", size=(3.0, 3.0), cube_edge=1.2)[2].objects
    spheres = render_tiny("spheres", size=(3.0, 3.0), cube_edge=1.2)[2].objects
    np.testing.assert_allclose(cubes.size, 3.6)
    np.testing.assert_allclose(spheres.size, 3.0)


def test_pastel_colours_have_a_saturation_in_the_saturation_range():
    knobs = {**NOISE_FREE, "shading": "flat", "ambient": (1.0, 1.0), "exposure": (1.0, 1.0),
             "colour_model": "hue", "colour": (1.0, 1.0), "saturation": (0.3, 0.5)}
    rgb, _, scenes = render_tiny("spheres", n=16, **knobs)
    colours = np.stack([image[mask][0, :3] for image, mask in zip(rgb, scenes.camera_hit,
                                                                   strict=True)]) / 255
    saturation = 1 - colours.min(axis=1) / colours.max(axis=1)
    assert (saturation >= 0.3 - 2 / 255).all() and (saturation <= 0.5 + 2 / 255).all()
    assert np.ptp(saturation) > 0.05


def test_gamma_encodes_the_light_of_each_pixel():
    knobs = {**NOISE_FREE, "ambient": (0.0, 0.0), "exposure": (1.0, 1.0), "colour": (1.0, 1.0)}
    linear, _, scenes = render_tiny("spheres", **knobs)
    encoded, _, _ = render_tiny("spheres", **knobs, gamma=2.0)
    hit = scenes.camera_hit
    expected = 255 * np.sqrt(linear[hit][:, :3] / 255)
    np.testing.assert_allclose(encoded[hit][:, :3], expected, atol=8)  # linear's rounding
    assert (encoded[hit][:, :3] >= linear[hit][:, :3]).all()


def test_a_light_spread_draws_each_light_within_its_cone():
    knobs = {"light": "fixed", "light_direction": (-1.0, -0.3, 1.0), "light_spread_deg": 15.0}
    light = render_tiny("spheres", n=64, **knobs)[2].objects.light
    axis = np.array(knobs["light_direction"]) / np.linalg.norm(knobs["light_direction"])
    off = np.rad2deg(np.arccos(np.clip(light @ axis, -1, 1)))
    np.testing.assert_allclose(np.linalg.norm(light, axis=1), 1)
    assert off.max() <= 15 + 1e-9 and off.max() > 10 and len(np.unique(light, axis=0)) == 64
