"""The known defects of the data set's circulating copies, each on a small fixture: handled,
listed file by file in report.json, and warned about (report.json's `warnings`, which the stage
prints): copies named `0001 (1).npy`, a folder copied into itself, unmatched files, a class
balance skewed by pairing, foreign files, all-black RGB frames byte-identical across samples."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from test_dataset import MAX_RANGE, SIZE, write_class

from fusion.data.dataset import prepare
from fusion.data.layout import FOREIGN, UNMATCHED

STEMS = ["0000", "0001", "0002", "0003"]
PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture
def root(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "assessment"
    write_class(root, "cubes", STEMS, rng)
    write_class(root, "spheres", STEMS, rng)
    return root


def run(root, out):
    """prepare's report, checked against the report.json it wrote."""
    report = prepare(root, out, SIZE, MAX_RANGE, progress=False)
    assert json.loads((out / "report.json").read_text()) == {
        k: v for k, v in report.items() if k != "seconds"}
    return report


def reasons(report) -> dict[str, str]:
    return {s["path"]: s["reason"] for s in report["skipped"]}


def warned(report, *words) -> bool:
    return any(all(w in line for w in words) for line in report["warnings"])


def test_copies_are_named_compared_by_content_and_never_paired(root, tmp_path):
    lidar, rgb = root / "cubes" / "lidar", root / "cubes" / "rgb"
    shutil.copy(lidar / "0001.npy", lidar / "0001 (1).npy")
    shutil.copy(rgb / "0001.png", rgb / "0001 (1).png")  # a copied pair: not a new sample
    np.save(lidar / "0002 (1).npy", np.full((SIZE, SIZE), 7.0, np.float32))
    shutil.copy(lidar / "0003.npy", lidar / "0009 (2).npy")
    report = run(root, tmp_path / "out")
    assert report["samples"] == 8 and report["classes"]["cubes"]["duplicates"] == 4
    assert reasons(report) == {
        "cubes/lidar/0001 (1).npy": "duplicate: identical to cubes/lidar/0001.npy",
        "cubes/rgb/0001 (1).png": "duplicate: identical to cubes/rgb/0001.png",
        "cubes/lidar/0002 (1).npy": "duplicate name: differs from cubes/lidar/0002.npy, which "
                                    "is read",
        "cubes/lidar/0009 (2).npy": "duplicate name, but no original 0009.npy: not read in its "
                                    "place (rename it to use it)",
    }
    assert warned(report, "cubes: 4 copies named like '0001 (1).npy'", "2 of them identical")


def test_a_folder_copied_into_itself_is_read_once(root, tmp_path):
    lidar = root / "spheres" / "lidar"
    shutil.copytree(lidar, tmp_path / "copy")
    shutil.move(tmp_path / "copy", lidar / "lidar")  # cp -r lidar lidar/
    report = run(root, tmp_path / "out")
    assert report["samples"] == 8 and report["classes"]["spheres"]["nested"] == 4
    assert reasons(report) == {
        f"spheres/lidar/lidar/{s}.npy": "nested copy: spheres/lidar/lidar/ inside "
                                        "spheres/lidar/, which is read" for s in STEMS}
    assert warned(report, "spheres: 4 file(s) in a folder copied into itself")


def test_unmatched_files_are_counted_per_class_and_listed(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "assessment"
    write_class(root, "cubes", STEMS, rng, rgb_only=["0004", "0005"])
    write_class(root, "spheres", STEMS, rng, lidar_only=["0006", "0007", "0008"])
    report = run(root, tmp_path / "out")
    cubes, spheres = report["classes"]["cubes"], report["classes"]["spheres"]
    assert (cubes["unmatched_rgb"], cubes["unmatched_lidar"]) == (2, 0)
    assert (spheres["unmatched_rgb"], spheres["unmatched_lidar"]) == (0, 3)
    assert reasons(report) == {
        **{f"cubes/rgb/{s}.png": UNMATCHED["rgb"] for s in ["0004", "0005"]},
        **{f"spheres/lidar/{s}.npy": UNMATCHED["lidar"] for s in ["0006", "0007", "0008"]}}
    assert warned(report, "cubes: 2 RGB file(s) without a LiDAR file")
    assert warned(report, "spheres: 0 RGB file(s) without a LiDAR file and 3 LiDAR file(s)")


def test_a_class_balance_skewed_by_pairing_is_warned_about(root, tmp_path):
    assert not warned(run(root, tmp_path / "balanced"), "class balance")
    for stem in ["0001", "0002"]:  # 752 RGB against 10,029 LiDAR files, in small
        (root / "cubes" / "rgb" / f"{stem}.png").unlink()
    report = run(root, tmp_path / "out")
    assert warned(report, "class balance: cubes 2 (33%), spheres 4 (67%) pairs",
                  "skewed by pairing (cubes has 2 RGB and 4 LiDAR files)",
                  "always answering spheres is 67% right", "train.class_weights: true")


def test_foreign_files_are_ignored_counted_and_listed(root, tmp_path):
    (root / "lidar_cnn.pt").write_bytes(b"weights")
    (root / "cubes" / "notes.txt").write_text("rainy day")
    (root / "cubes" / "rgb" / ".DS_Store").write_bytes(b"junk")
    (root / "spheres" / "lidar" / "old").mkdir()
    shutil.copy(root / "spheres" / "lidar" / "0000.npy", root / "spheres" / "lidar" / "old")
    report = run(root, tmp_path / "out")
    assert report["samples"] == 8
    assert (report["foreign"], report["classes"]["cubes"]["foreign"],
            report["classes"]["spheres"]["foreign"]) == (1, 2, 1)
    assert reasons(report) == {p: FOREIGN for p in [
        "lidar_cnn.pt", "cubes/notes.txt", "cubes/rgb/.DS_Store", "spheres/lidar/old/0000.npy"]}
    assert warned(report, "4 foreign file(s) ignored")


def test_black_rgb_frames_byte_identical_across_samples_are_reported(root, tmp_path):
    black = np.zeros((SIZE, SIZE, 4), np.uint8)
    black[..., 3] = 255
    Image.fromarray(black, "RGBA").save(tmp_path / "black.png")
    for path in ["cubes/rgb/0001.png", "spheres/rgb/0002.png", "spheres/rgb/0003.png"]:
        shutil.copy(tmp_path / "black.png", root / path)
    report = run(root, tmp_path / "out")
    assert report["samples"] == 8  # kept: their LiDAR is real
    assert report["black_rgb"] == {"samples": 3, "distinct_files": 1,
                                   "ids": ["cubes/0001", "spheres/0002", "spheres/0003"]}
    assert (report["classes"]["cubes"]["black_rgb"], report["classes"]["spheres"]["black_rgb"]
            ) == (1, 2)
    assert warned(report, "3 sample(s) with an all-black RGB frame (cubes 1, spheres 2), in 1 "
                  "distinct file(s)")


def test_the_stage_prints_every_warning(root, tmp_path):
    (root / "lidar_cnn.pt").write_bytes(b"weights")
    (root / "cubes" / "rgb" / "0001.png").unlink()
    params = yaml.safe_load((PROJECT / "params.yaml").read_text())
    params["data"].update(raw=str(root), image_size=SIZE, max_range=MAX_RANGE)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    result = subprocess.run([sys.executable, "-m", "stages.prepare"], cwd=tmp_path, text=True,
                            capture_output=True, check=True,
                            env={**os.environ, "PYTHONPATH": str(PROJECT)})
    report = json.loads((tmp_path / "data" / "prepared" / "report.json").read_text())
    assert len(report["warnings"]) == 2  # unmatched, foreign
    assert all(f"warning: {line}" in result.stdout for line in report["warnings"])
    assert "2 file(s) not read, each listed with its reason under `skipped` in " \
        "data/prepared/report.json" in result.stdout
