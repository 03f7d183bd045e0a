import numpy as np
import pytest

from fusion.data.geometry import angle_grid, depth_to_xyza, ray_directions

MAX_RANGE = 50.0


def test_angle_grid_matches_course_angles():
    grid = angle_grid(64, 32.0)
    assert grid.dtype == np.float32 and grid.shape == (64,)
    np.testing.assert_allclose(np.rad2deg(grid), np.arange(-16.0, 16.0, 0.5), atol=1e-5)


def test_ray_directions_are_unit_and_per_row_column():
    azimuth, zenith = angle_grid(6, 30.0), angle_grid(4, 20.0)
    rays = ray_directions(azimuth, zenith)
    assert rays.shape == (6, 4, 3)
    np.testing.assert_allclose(np.linalg.norm(rays, axis=-1), 1.0, atol=1e-12)
    i, j = 1, 3
    np.testing.assert_allclose(np.arctan2(-rays[i, j, 0], rays[i, j, 1]), azimuth[i], atol=1e-6)
    np.testing.assert_allclose(np.arcsin(-rays[i, j, 2]), zenith[j], atol=1e-6)


def test_depth_to_xyza_matches_formula_elementwise():
    rng = np.random.default_rng(0)
    azimuth, zenith = angle_grid(8, 32.0), angle_grid(5, 20.0)
    depth = rng.uniform(0, 60, size=(2, 3, 8, 5)).astype(np.float32)
    az, ze = azimuth[:, None], zenith[None, :]
    expected = np.stack([
        depth * np.sin(-az) * np.cos(-ze),
        depth * np.cos(-az) * np.cos(-ze),
        depth * np.sin(-ze),
        (depth < MAX_RANGE).astype(np.float32),
    ], axis=-3)
    xyza = depth_to_xyza(depth, azimuth, zenith, MAX_RANGE)
    assert xyza.dtype == np.float32 and xyza.shape == (2, 3, 4, 8, 5)
    np.testing.assert_allclose(xyza, expected, rtol=1e-5, atol=1e-5)


def test_alpha_is_zero_exactly_where_depth_reaches_max_range():
    angles = angle_grid(4, 10.0)
    depth = np.array([[1.0, MAX_RANGE, 49.999, 80.0]] * 4, dtype=np.float32)
    alpha = depth_to_xyza(depth, angles, angles, MAX_RANGE)[3]
    np.testing.assert_array_equal(alpha, (depth < MAX_RANGE).astype(np.float32))
    assert alpha[:, 1].sum() == 0 and alpha[:, 2].min() == 1


@pytest.mark.parametrize(
    ("depth_shape", "azimuth_size", "zenith_size", "message"),
    [
        ((8, 5), 7, 5, r"azimuth has shape \(7,\); expected \(8,\), one angle per row"),
        ((8, 5), 8, 6, r"zenith has shape \(6,\); expected \(5,\), one angle per column"),
        ((5,), 5, 5, r"depth must be \(\.\.\., H, W\)"),
    ],
)
def test_depth_to_xyza_rejects_mismatched_shapes(depth_shape, azimuth_size, zenith_size, message):
    depth = np.ones(depth_shape, dtype=np.float32)
    with pytest.raises(ValueError, match=message):
        depth_to_xyza(depth, angle_grid(azimuth_size, 10.0), angle_grid(zenith_size, 10.0), 50.0)


def test_ray_directions_rejects_non_vector_angles():
    with pytest.raises(ValueError, match=r"azimuth has shape \(2, 2\)"):
        ray_directions(np.zeros((2, 2)), angle_grid(4, 10.0))
