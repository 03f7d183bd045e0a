"""`data.raw` as the download comes: a .zip, .tar or .tar.gz read in place, or the folder above
the data root; the same bytes from each, wherever the data lies; damaged archives named."""

import shutil
import tarfile
import zipfile

import numpy as np
import pytest
from test_dataset import MAX_RANGE, SIZE, write_class

from fusion.data.dataset import DatasetError, prepare
from fusion.data.sources import Zip

ARCHIVES = ["archive.zip", "archive.tar", "archive.tar.gz"]


@pytest.fixture
def unpacked(tmp_path):
    """`unpacked/assessment/<class>/...` with a corrupt file, an unmatched one and a foreign one
    at the data root, as the archive unpacks."""
    rng = np.random.default_rng(0)
    root = tmp_path / "unpacked" / "assessment"
    write_class(root, "cubes", ["0000", "0001", "0002"], rng, rgb_only=["0003"])
    write_class(root, "spheres", ["0000", "0001"], rng)
    (root / "spheres" / "rgb" / "0001.png").write_bytes(b"not a png")
    (root / "lidar_cnn.pt").write_bytes(b"weights")
    return root.parent


def pack(folder, archive):
    """`archive` holding `folder`'s contents (zip deflated, as zip tools write it)."""
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
            for path in sorted(folder.rglob("*")):
                z.write(path, path.relative_to(folder).as_posix())
    else:
        with tarfile.open(archive, "w:gz" if archive.name.endswith(".gz") else "w") as t:
            for path in sorted(folder.iterdir()):
                t.add(path, path.name)
    return archive


def outputs(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_archives_and_folders_give_byte_identical_outputs(unpacked, tmp_path):
    raws = [unpacked / "assessment", unpacked, *(pack(unpacked, tmp_path / a) for a in ARCHIVES)]
    prefixed = tmp_path / "self-extracting.zip"  # bytes before the archive: zipfile's listing
    prefixed.write_bytes(b"#!/bin/sh\nexit 0\n" + raws[2].read_bytes())
    raws.append(prefixed)
    results = []
    for k, raw in enumerate(raws):
        prepare(raw, tmp_path / f"out{k}", SIZE, MAX_RANGE, skip_invalid=True, progress=False)
        results.append(outputs(tmp_path / f"out{k}"))
    assert set(results[0]) == {"rgb.npy", "xyza.npy", "labels.npy", "index.csv", "report.json"}
    assert all(r == results[0] for r in results[1:])
    report = results[0]["report.json"].decode()
    assert '"path": "lidar_cnn.pt"' in report and '"path": "spheres/rgb/0001.png"' in report
    assert str(tmp_path) not in report


def test_the_same_data_elsewhere_gives_the_same_bytes(unpacked, tmp_path):
    prepare(unpacked, tmp_path / "here", SIZE, MAX_RANGE, skip_invalid=True, progress=False)
    moved = shutil.move(unpacked, tmp_path / "elsewhere" / "copy")
    prepare(moved, tmp_path / "there", SIZE, MAX_RANGE, skip_invalid=True, progress=False)
    assert outputs(tmp_path / "here") == outputs(tmp_path / "there")


def test_files_outside_the_data_root_are_listed_relative_to_it(unpacked, tmp_path):
    (unpacked / "README.txt").write_text("the course's data")
    report = prepare(unpacked, tmp_path / "out", SIZE, MAX_RANGE, skip_invalid=True,
                     progress=False)
    assert {"path": "../README.txt", "reason": "foreign: not an RGB .png or LiDAR .npy sample "
            "file"} in report["skipped"]
    assert report["foreign"] == 2  # and lidar_cnn.pt


@pytest.mark.parametrize("name", ARCHIVES)
def test_a_truncated_archive_is_named_before_any_output(unpacked, tmp_path, name):
    archive = pack(unpacked, tmp_path / name)
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size * 2 // 3])
    with pytest.raises(DatasetError, match=f"{archive}: .*truncated or damaged"):
        prepare(archive, tmp_path / "out" / "prepared", SIZE, MAX_RANGE, progress=False)
    assert not (tmp_path / "out").exists()  # not even a temporary folder


def test_a_damaged_member_is_named_with_its_archive(unpacked, tmp_path):
    archive = pack(unpacked, tmp_path / "archive.zip")
    with zipfile.ZipFile(archive) as z:
        info = z.getinfo("assessment/cubes/lidar/0001.npy")
    data = bytearray(archive.read_bytes())
    middle = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    data[middle] ^= 0xFF
    archive.write_bytes(bytes(data))
    with pytest.raises(DatasetError) as err:
        prepare(archive, tmp_path / "out", SIZE, MAX_RANGE, skip_invalid=False, progress=False)
    assert f"{archive}:assessment/cubes/lidar/0001.npy: unreadable (damaged archive member" in str(
        err.value)
    assert not (tmp_path / "out").exists()


def test_the_zip_listing_agrees_with_zipfile(unpacked, tmp_path):
    archive = Zip(pack(unpacked, tmp_path / "archive.zip"))
    assert archive._directory() == Zip._zipfile_directory(archive.path)
    assert len(archive.listing["assessment/cubes/rgb"]) == 4
