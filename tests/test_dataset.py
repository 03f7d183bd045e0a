"""prepare: pairing, validation, error reporting, XYZA and resizing on small hand-made layouts
(the copies' defects and archives: tests/test_raw_defects.py, tests/test_raw_sources.py)."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from fusion.data.dataset import DatasetError, prepare
from fusion.data.layout import FOREIGN, UNMATCHED
from fusion.data.prepared import load_prepared

SIZE = 8
MAX_RANGE = 50.0


def write_class(root, name, stems, rng, rgb_only=(), lidar_only=()):
    folder = root / name
    (folder / "rgb").mkdir(parents=True)
    (folder / "lidar").mkdir()
    angles = np.deg2rad(np.arange(-4, 4, 1.0)).astype(np.float32)
    np.save(folder / "azimuth.npy", angles)
    np.save(folder / "zenith.npy", angles * 0.5)
    for stem in [*stems, *rgb_only]:
        rgb = rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
        Image.fromarray(rgb, "RGB").save(folder / "rgb" / f"{stem}.png")
    for stem in [*stems, *lidar_only]:
        depth = rng.uniform(5, 20, (SIZE, SIZE)).astype(np.float32)
        depth[0, :3] = MAX_RANGE  # a few missing returns
        np.save(folder / "lidar" / f"{stem}.npy", depth)
    return folder


@pytest.fixture
def layout(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "raw"
    cubes = write_class(root, "cubes", ["0000", "0001", "0002"], rng, rgb_only=["0009"])
    spheres = write_class(root, "spheres", ["0000", "0001", "0002", "0003"], rng,
                          lidar_only=["0007", "0008"])
    (cubes / "rgb" / ".DS_Store").write_bytes(b"junk")
    (spheres / "notes.txt").write_text("taken on a rainy day")
    (spheres / "rgb" / "0002.png").write_bytes(b"this is not a png")  # corrupt image
    depth = np.full((SIZE, SIZE), 10.0, np.float32)
    depth[3, 3] = np.nan
    np.save(spheres / "lidar" / "0003.npy", depth)  # NaN depth
    return root


def test_corrupt_files_are_all_reported_at_once(layout, tmp_path):
    with pytest.raises(DatasetError) as err:
        prepare(layout, tmp_path / "out", SIZE, MAX_RANGE, progress=False)
    message = str(err.value)
    assert "2 corrupt file(s)" in message
    assert str(layout / "spheres" / "rgb" / "0002.png") in message
    assert str(layout / "spheres" / "lidar" / "0003.npy") in message
    assert "NaN" in message and "undecodable" in message
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_skip_mode_lists_every_file_not_read_with_its_reason(layout, tmp_path):
    report = prepare(layout, tmp_path / "out", SIZE, MAX_RANGE, skip_invalid=True, progress=False)
    assert report["samples"] == 5
    assert {s["path"]: s["reason"].split(" (")[0] for s in report["skipped"]} == {
        "cubes/rgb/.DS_Store": FOREIGN,
        "cubes/rgb/0009.png": UNMATCHED["rgb"],
        "spheres/lidar/0002.npy": "pair dropped: spheres/rgb/0002.png is corrupt",
        "spheres/lidar/0003.npy": "depth contains NaN or inf",
        "spheres/lidar/0007.npy": UNMATCHED["lidar"],
        "spheres/lidar/0008.npy": UNMATCHED["lidar"],
        "spheres/notes.txt": FOREIGN,
        "spheres/rgb/0002.png": "undecodable image",
        "spheres/rgb/0003.png": "pair dropped: spheres/lidar/0003.npy is corrupt",
    }
    cubes, spheres = report["classes"]["cubes"], report["classes"]["spheres"]
    assert (cubes["label"], spheres["label"]) == (0, 1)
    assert (cubes["pairs"], spheres["pairs"]) == (3, 2)
    assert (cubes["unmatched_rgb"], cubes["unmatched_lidar"]) == (1, 0)
    assert (spheres["unmatched_rgb"], spheres["unmatched_lidar"]) == (0, 2)
    assert (cubes["foreign"], spheres["foreign"], spheres["corrupt_pairs"]) == (1, 1, 2)
    assert any("spheres 2" in w and "corrupt" in w for w in report["warnings"])
    on_disk = json.loads((tmp_path / "out" / "report.json").read_text())
    assert on_disk["skipped"] == report["skipped"]
    assert str(tmp_path) not in json.dumps(on_disk)  # no location in the cache


def test_cache_shapes_dtypes_index_and_xyza_formula(layout, tmp_path):
    prepare(layout, tmp_path / "out", SIZE, MAX_RANGE, skip_invalid=True, progress=False)
    data = load_prepared(tmp_path / "out")
    assert data.rgb.dtype == np.uint8 and data.rgb.shape == (5, 4, SIZE, SIZE)
    assert data.xyza.dtype == np.float32 and data.xyza.shape == (5, 4, SIZE, SIZE)
    assert data.labels.dtype == np.int64 and data.labels.tolist() == [0, 0, 0, 1, 1]
    assert data.index["id"].tolist()[:4] == ["cubes/0000", "cubes/0001", "cubes/0002",
                                             "spheres/0000"]
    assert data.classes == ["cubes", "spheres"]
    assert (data.rgb[:, 3] == 255).all()  # RGB PNG gets alpha 255

    folder = layout / "spheres"
    depth = np.load(folder / "lidar" / "0001.npy")
    az, ze = np.load(folder / "azimuth.npy"), np.load(folder / "zenith.npy")
    a, z = az[:, None], ze[None, :]
    expected = np.stack([
        depth * np.sin(-a) * np.cos(-z),
        depth * np.cos(-a) * np.cos(-z),
        depth * np.sin(-z) * np.ones_like(a),
        (depth < MAX_RANGE).astype(np.float32),
    ])
    np.testing.assert_allclose(data.xyza[4], expected, rtol=1e-5, atol=1e-5)
    assert data.xyza[4, 3, 0, :3].sum() == 0  # the missing returns


def test_resize_keeps_the_validity_mask_meaningful(tmp_path):
    root = tmp_path / "raw"
    write_class(root, "cubes", ["0000"], np.random.default_rng(1))
    write_class(root, "spheres", ["0000"], np.random.default_rng(2))
    depth = np.full((SIZE, SIZE), 10.0, np.float32)
    depth[:4, :4] = MAX_RANGE  # a whole 2x2 output block without returns
    np.save(root / "cubes" / "lidar" / "0000.npy", depth)
    prepare(root, tmp_path / "out", SIZE // 2, MAX_RANGE, progress=False)
    data = load_prepared(tmp_path / "out")
    assert data.xyza.shape == (2, 4, SIZE // 2, SIZE // 2)
    alpha = data.xyza[0, 3]
    assert set(np.unique(alpha)) <= {0.0, 1.0}
    assert (alpha[:2, :2] == 0).all() and (alpha[2:, 2:] == 1).all()
    ranges = np.linalg.norm(data.xyza[0, :3], axis=0)
    np.testing.assert_allclose(ranges[alpha == 1], 10.0, rtol=1e-4)  # no blending with misses
    np.testing.assert_allclose(ranges[alpha == 0], MAX_RANGE, rtol=1e-4)
    # The rays follow the resized angles, azimuth per row and zenith per column: inside the
    # image these are the means of the 2x2 footprints (the filter is truncated at the border).
    azimuth = np.load(root / "cubes" / "azimuth.npy").reshape(SIZE // 2, 2).mean(1)
    zenith = np.load(root / "cubes" / "zenith.npy").reshape(SIZE // 2, 2).mean(1)
    ze = np.arcsin(-data.xyza[0, 2, 0] / ranges[0])
    az = np.arcsin(-data.xyza[0, 0, :, 0] / ranges[:, 0] / np.cos(ze[0]))
    np.testing.assert_allclose(az[1:-1], azimuth[1:-1], atol=1e-4)
    np.testing.assert_allclose(ze[1:-1], zenith[1:-1], atol=1e-4)
    assert (np.diff(az) > 0).all() and (np.diff(ze) > 0).all()


def nest(folder):
    """Move a class folder's LiDAR files one folder down, into lidar/lidar/."""
    (folder / "lidar" / "lidar").mkdir()
    for f in (folder / "lidar").glob("*.npy"):
        f.rename(folder / "lidar" / "lidar" / f.name)


@pytest.mark.parametrize(
    "breakage, expected",
    [
        (lambda root: None, "data root not found"),
        (lambda root: root.mkdir(), "empty data root"),
        (lambda root: (root / "cubes" / "zenith.npy").unlink(), "missing zenith.npy"),
        (lambda root: np.save(root / "cubes" / "azimuth.npy", np.zeros(5, np.float32)),
         "do not match the angle files"),
        (lambda root: np.save(root / "cubes" / "azimuth.npy", np.full(8, np.nan, np.float32)),
         "NaN"),
        (lambda root: (root / "cubes" / "rgb").rename(root / "cubes" / "images"), "missing rgb"),
        (lambda root: write_class(root / "copy", "cubes", ["0000"], np.random.default_rng(0)),
         r"several data roots \(./, copy/\)"),
        (lambda root: nest(root / "cubes"),
         r"cubes/lidar holds no .npy files but lidar/lidar/ inside it holds 1: move them up"),
    ],
)
def test_structural_errors_are_clear(tmp_path, breakage, expected):
    root = tmp_path / "raw"
    if expected not in ("data root not found", "empty data root"):
        write_class(root, "cubes", ["0000"], np.random.default_rng(0))
    breakage(root)
    with pytest.raises(DatasetError, match=expected):
        prepare(root, tmp_path / "out", SIZE, MAX_RANGE, progress=False)
    assert not (tmp_path / "out").exists()


def test_a_file_that_is_not_an_archive_is_named(tmp_path):
    raw = tmp_path / "assessment.rar"
    raw.write_bytes(b"Rar!")
    with pytest.raises(DatasetError, match="assessment.rar: expected a folder or a .zip, .tar"):
        prepare(raw, tmp_path / "out", SIZE, MAX_RANGE, progress=False)


def test_image_size_larger_than_native_is_an_error(layout, tmp_path):
    with pytest.raises(DatasetError, match="exceeds the native size"):
        prepare(layout, tmp_path / "out", SIZE * 2, MAX_RANGE, progress=False)


def test_identical_pairs_share_a_content_hash_and_distinct_pairs_do_not(tmp_path):
    """index.csv's `hash` is of the decoded content alone, RGB and depth together: what the
    split groups on, so that copies never straddle train and test."""
    root = tmp_path / "raw"
    cubes = write_class(root, "cubes", ["0000", "0001", "0002", "0003"], np.random.default_rng(4))
    spheres = write_class(root, "spheres", ["0000", "0001"], np.random.default_rng(5))
    rgb, lidar = cubes / "rgb", cubes / "lidar"
    # cubes/0004: cubes/0000 under another stem, both files byte for byte.
    shutil.copy(rgb / "0000.png", rgb / "0004.png")
    shutil.copy(lidar / "0000.npy", lidar / "0004.npy")
    # cubes/0005: cubes/0000's pixels in other PNG bytes, and its depth.
    Image.open(rgb / "0000.png").save(rgb / "0005.png", compress_level=0)
    assert (rgb / "0005.png").read_bytes() != (rgb / "0000.png").read_bytes()
    shutil.copy(lidar / "0000.npy", lidar / "0005.npy")
    # spheres/0002: cubes/0001 copied into the other class.
    shutil.copy(rgb / "0001.png", spheres / "rgb" / "0002.png")
    shutil.copy(lidar / "0001.npy", spheres / "lidar" / "0002.npy")
    # Half copies, distinct pairs: cubes/0002 gets 0001's image, cubes/0003 gets 0001's depth.
    shutil.copy(rgb / "0001.png", rgb / "0002.png")
    shutil.copy(lidar / "0001.npy", lidar / "0003.npy")

    prepare(root, tmp_path / "out", SIZE, MAX_RANGE, progress=False)
    index = pd.read_csv(tmp_path / "out" / "index.csv", dtype={"hash": str})
    digest = dict(zip(index["id"], index["hash"], strict=True))
    assert len(digest) == 9 and index["hash"].notna().all()
    assert digest["cubes/0000"] == digest["cubes/0004"] == digest["cubes/0005"]
    assert digest["cubes/0001"] == digest["spheres/0002"]
    distinct = ["cubes/0000", "cubes/0001", "cubes/0002", "cubes/0003", "spheres/0000",
                "spheres/0001"]
    assert len({digest[i] for i in distinct}) == len(distinct)
    assert index["hash"].nunique() == len(distinct)
