import dataclasses
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fusion.geometry import angle_grid, depth_to_xyza, ray_directions
from fusion.params import Counts, SyntheticParams
from fusion.synthetic import LOW_REFLECTIVITY_RETURN_RATE, generate, render

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


def object_frame(points: np.ndarray, scenes) -> np.ndarray:
    """(n, 3, K) sensor-frame points -> object frame R^T (p - c), in units of half the size."""
    offset = points - scenes.centre[:, :, None]
    return np.einsum("nji,njk->nik", scenes.rotation, offset) / (scenes.size[:, None, None] / 2)


def surface_gauge(points: np.ndarray, scenes) -> np.ndarray:
    """(n, 3, K) points -> (n, K): 1 on the object's surface, < 1 inside, > 1 outside."""
    local = object_frame(points, scenes)
    if scenes.shape == "spheres":
        return np.linalg.norm(local, axis=1)
    return np.abs(local).max(axis=1)


def surface_normals(points: np.ndarray, scenes) -> np.ndarray:
    """(n, 3, K) sensor-frame unit normals at the surface points (n, 3, K)."""
    local = object_frame(points, scenes)
    if scenes.shape == "spheres":
        local_normal = local / np.linalg.norm(local, axis=1, keepdims=True)
    else:
        face = np.abs(local).argmax(axis=1)[:, None]
        local_normal = np.where(np.arange(3)[:, None] == face, np.sign(local), 0.0)
    return scenes.rotation @ local_normal


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
    n = len(depth)
    xyza = flat_xyza(depth, params)
    returns = xyza[:, 3] == 1
    np.testing.assert_array_equal(returns, scenes.hit.reshape(n, -1))
    assert returns.any(axis=1).all() and not returns.all()  # every object seen, some misses
    # Ambient light makes every object pixel non-black: RGB (i, j) sees what range (i, j) sees.
    np.testing.assert_array_equal(rgb[..., :3].max(axis=-1) > 0, scenes.hit)

    points = xyza[:, :3].astype(np.float64)
    np.testing.assert_allclose(surface_gauge(points, scenes)[returns], 1.0, atol=1e-5)
    assert (surface_gauge(0.99 * points, scenes)[returns] > 1).all()  # the first hit, not the back

    assert (depth.reshape(n, -1)[~returns] == params.max_range).all()
    angles = angle_grid(params.image_size, params.fov_deg)
    rays = ray_directions(angles, angles).reshape(-1, 3).T  # (3, P)
    steps = np.linspace(0.1, params.distance[1] + params.size[1], 300)
    along = (steps[:, None, None] * rays).transpose(1, 0, 2).reshape(3, -1)  # (3, steps * P)
    gauge = surface_gauge(np.broadcast_to(along, (n, *along.shape)), scenes)
    closest = gauge.reshape(n, len(steps), -1).min(axis=1)
    assert (closest[~returns] > 1).all()  # misses never pass through the object


@pytest.mark.parametrize("shape", ["cubes", "spheres"])
def test_shading_is_lambertian_with_the_true_normal(shape):
    knobs = {**NOISE_FREE, "exposure": (0.6, 0.6)}  # no clipping: brightness is linear
    rgb, depth, scenes = render_tiny(shape, **knobs)
    assert (scenes.light[:, 1] <= 0).all()  # lit from the sensor's side
    points = flat_xyza(depth, tiny(**knobs))[:, :3]
    cosine = np.maximum((surface_normals(points, scenes) * scenes.light[:, :, None]).sum(1), 0)
    brightness = rgb[..., :3].sum(-1).reshape(len(depth), -1).astype(np.float64)
    for hit, cos, level in zip(scenes.hit.reshape(len(depth), -1), cosine, brightness, strict=True):
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
    assert scenes.camera_failure.all() and not scenes.lidar_failure.any()
    inside, outside = scenes.hit, ~scenes.hit
    assert abs(dark[inside][:, :3].mean() - dark[outside][:, :3].mean()) < 0.5
    assert abs(dark[inside][:, :3].std() - dark[outside][:, :3].std()) < 0.5
    assert lit[inside][:, :3].mean() - lit[outside][:, :3].mean() > 20


def test_lidar_failure_keeps_few_object_returns():
    _, depth, scenes = render_tiny("cubes", n=8, dropout=0.0, lidar_failure=1.0, camera_failure=0.0)
    assert scenes.lidar_failure.all() and not scenes.camera_failure.any()
    kept = (depth < SyntheticParams.max_range)[scenes.hit].mean()
    assert 0 < kept < 2 * LOW_REFLECTIVITY_RETURN_RATE


def test_failures_are_disjoint_and_cover_their_fractions():
    _, _, scenes = render_tiny("cubes", n=64, camera_failure=0.5, lidar_failure=0.5)
    assert not (scenes.camera_failure & scenes.lidar_failure).any()
    assert (scenes.camera_failure | scenes.lidar_failure).all()
    assert 16 < scenes.camera_failure.sum() < 48


def test_noise_knobs_perturb_measurements_not_the_scene():
    _, clean, clean_scenes = render_tiny("spheres", n=8, **NOISE_FREE)
    noisy_knobs = {**NOISE_FREE, "depth_noise": 0.01, "dropout": 0.3}
    _, noisy, scenes = render_tiny("spheres", n=8, **noisy_knobs)
    np.testing.assert_array_equal(scenes.centre, clean_scenes.centre)
    kept = noisy < SyntheticParams.max_range
    assert 0.6 < kept[scenes.hit].mean() < 0.8
    relative_error = noisy[kept] / clean[kept] - 1
    assert 0.008 < relative_error.std() < 0.012


def test_an_object_that_would_enclose_the_sensor_is_rejected(tmp_path):
    params = tiny(distance=(1.0, 2.0), counts=Counts(cubes=1, spheres=1))
    with pytest.raises(ValueError, match="synthetic.distance"):
        generate(params, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()
