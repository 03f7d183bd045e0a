"""Scan the course's "assessment" layout, pair RGB with LiDAR, validate, and cache as tensors.

Layout: `<root>/<class>/rgb/<stem>.png`, `<root>/<class>/lidar/<stem>.npy`, and per class folder
`azimuth.npy` (one angle per row) and `zenith.npy` (one per column). Classes are the class
folders in sorted order (cubes = 0, spheres = 1). Pairs match by stem; unmatched and foreign
files are counted, never fatal. Structural problems (missing root, class without angle files,
angle lengths that do not fit the depth maps) fail before any file is decoded; corrupt files
are collected and reported all at once, or skipped and listed with `skip_invalid`.

The prepared cache (`prepare()`): `rgb.npy` uint8 (N, 4, H, W), `xyza.npy` float32 (N, 4, H, W),
`labels.npy` int64 (N,), `index.csv` (row, id, class, label, hash) and `report.json` (counts,
lists, no timing): the same input gives the same bytes, so a re-run re-runs nothing downstream.
"""

from __future__ import annotations

import hashlib
import io
import mmap
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from tqdm import tqdm

from fusion.geometry import depth_to_xyza
from fusion.io import atomic_dir, write_json, write_npy
from fusion.prepared import Prepared

ANGLE_FILES = ("azimuth.npy", "zenith.npy")
EXAMPLES = 20  # file names listed per category in the report; the counts are always complete
CHUNK = 256  # pairs per decoding task
WORKERS = os.cpu_count() or 1  # decoding processes


class DatasetError(ValueError):
    """The raw data set cannot be prepared; the message names every offending path."""


class CorruptFile(ValueError):
    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


@dataclass
class ClassFolder:
    name: str
    label: int
    root: Path
    azimuth: np.ndarray  # (H,) radians, one per row
    zenith: np.ndarray  # (W,) radians, one per column
    stems: list[str]  # matched pairs, sorted
    unmatched_rgb: list[str] = field(default_factory=list)
    unmatched_lidar: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.azimuth), len(self.zenith)


def load_angles(path: Path) -> np.ndarray:
    try:
        angles = np.load(path, allow_pickle=False)
    except Exception as e:  # noqa: BLE001 - any decoding failure is reported with its path
        raise DatasetError(f"{path}: cannot read angle file ({e})") from None
    if angles.ndim != 1 or angles.size == 0 or not np.issubdtype(angles.dtype, np.floating):
        raise DatasetError(f"{path}: expected a 1-D float array, got {angles.dtype} {angles.shape}")
    if not np.isfinite(angles).all():
        raise DatasetError(f"{path}: contains NaN or inf")
    return angles.astype(np.float32)


def _files(folder: Path, suffix: str) -> tuple[dict[str, str], list[str]]:
    """Map stem -> file name for `suffix` files in `folder`; other entries are ignored."""
    matched, ignored = {}, []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        name = entry.name
        if entry.is_file() and name.lower().endswith(suffix) and not name.startswith("."):
            matched[name[: -len(suffix)]] = name
        else:
            ignored.append(f"{folder.name}/{name}")
    return matched, ignored


def _angle_mismatch(folder: Path, lidar: dict[str, str], rows: int, columns: int) -> str | None:
    """Compare the angle lengths with the shape of the class's first depth file (header only)."""
    for name in lidar.values():
        try:
            shape = np.load(folder / "lidar" / name, mmap_mode="r").shape
        except Exception:  # noqa: BLE001 - a corrupt file is reported by the decoding pass
            continue
        if shape != (rows, columns):
            return (f"{folder}: depth maps do not match the angle files: azimuth.npy has {rows} "
                    f"and zenith.npy {columns} angles, {folder / 'lidar' / name} has shape {shape}")
        return None
    return None


def scan(root: str | Path) -> list[ClassFolder]:
    """Find class folders and their pairs; raise DatasetError on structural problems."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: data root not found (set data.raw in params.yaml)")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise DatasetError(f"{root}: empty data root, expected class folders such as cubes/")
    problems, classes = [], []
    for label, folder in enumerate(class_dirs):
        missing = [n for n in ("rgb", "lidar") if not (folder / n).is_dir()]
        missing += [n for n in ANGLE_FILES if not (folder / n).is_file()]
        if missing:
            problems.append(f"{folder}: missing {', '.join(missing)}")
            continue
        try:
            azimuth, zenith = (load_angles(folder / n) for n in ANGLE_FILES)
        except DatasetError as e:
            problems.append(str(e))
            continue
        rgb, ignored_rgb = _files(folder / "rgb", ".png")
        lidar, ignored_lidar = _files(folder / "lidar", ".npy")
        mismatch = _angle_mismatch(folder, lidar, len(azimuth), len(zenith))
        if mismatch:
            problems.append(mismatch)
            continue
        ignored = [f"{folder.name}/{n}" for n in ignored_rgb + ignored_lidar]
        ignored += [
            f"{folder.name}/{p.name}"
            for p in sorted(folder.iterdir())
            if p.name not in ("rgb", "lidar", *ANGLE_FILES)
        ]
        classes.append(
            ClassFolder(
                name=folder.name,
                label=label,
                root=folder,
                azimuth=azimuth,
                zenith=zenith,
                stems=sorted(rgb.keys() & lidar.keys()),
                unmatched_rgb=sorted(rgb.keys() - lidar.keys()),
                unmatched_lidar=sorted(lidar.keys() - rgb.keys()),
                ignored=ignored,
            )
        )
    if problems:
        raise DatasetError("invalid data layout:\n  " + "\n  ".join(problems))
    if not any(c.stems for c in classes):
        raise DatasetError(f"{root}: no RGB/LiDAR pairs found (pairs match by file stem)")
    return classes


class NpyReader:
    """Reads .npy files; a file whose header bytes equal those of the first file read is taken
    straight from its bytes, without parsing the header again (np.load's parse is most of its
    cost on small arrays). Any other file goes through np.load, which validates it."""

    def __init__(self):
        self.header: bytes | None = None

    def __call__(self, path: Path) -> np.ndarray:
        raw = path.read_bytes()
        if self.header is not None and raw.startswith(self.header) and len(raw) == self.size:
            return np.frombuffer(raw, self.dtype, offset=len(self.header)).reshape(self.shape)
        array = np.load(io.BytesIO(raw), allow_pickle=False)
        if self.header is None and array.flags.c_contiguous and not array.dtype.hasobject:
            self.dtype, self.shape = array.dtype, array.shape
            self.header = raw[: len(raw) - array.nbytes]
            self.size = len(raw)
        return array


def decode_pair(png: Path, npy: Path, shape: tuple[int, int], read_npy=np.load
                ) -> tuple[np.ndarray, np.ndarray]:
    """One pair -> (rgba uint8 (H, W, 4), depth float32 (H, W)); raise CorruptFile if bad.

    `shape` is (len(azimuth), len(zenith)), the shape the depth map must have.
    """
    try:
        with Image.open(png) as image:
            rgba = np.asarray(image.convert("RGBA"))
    except Exception as e:  # noqa: BLE001 - every decoding failure is reported with its path
        raise CorruptFile(png, f"undecodable image ({e})") from None
    try:
        depth = read_npy(npy)
    except Exception as e:  # noqa: BLE001
        raise CorruptFile(npy, f"unreadable depth file ({e})") from None
    if depth.shape != shape:
        raise CorruptFile(
            npy,
            f"depth shape {depth.shape} does not match the angle files "
            f"(azimuth {shape[0]} rows x zenith {shape[1]} columns)",
        )
    if not np.issubdtype(depth.dtype, np.floating):
        raise CorruptFile(npy, f"depth is not floating point ({depth.dtype})")
    if not np.isfinite(depth).all():
        raise CorruptFile(npy, "depth contains NaN or inf")
    if rgba.shape[:2] != shape:
        raise CorruptFile(png, f"image size {rgba.shape[:2]} differs from its depth {shape}")
    return rgba, depth


def _resize_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) float32 weights of antialiased bilinear resizing along one axis.

    The triangle filter widens by the downscale factor, rows are normalised where it leaves the
    image: the weights of torchvision's `resize(..., antialias=True)` (and of PIL).
    """
    scale = n_in / n_out
    x = (np.arange(n_in) + 0.5 - scale * (np.arange(n_out)[:, None] + 0.5)) / scale
    w = np.maximum(1 - np.abs(x), 0)
    return (w / w.sum(1, keepdims=True)).astype(np.float32)


def _resize(rgb: np.ndarray, depth: np.ndarray, azimuth, zenith, size: int, max_range: float):
    """Downsample to `size` x `size`, antialiased bilinear (separable: rows @ image @ columns^T).

    Depth is averaged over valid returns only (mask-weighted), a pixel stays a return where
    at least half its footprint was one, and the angles are averaged with the same weights, so
    the XYZA formula still holds at the new resolution. Numpy, not torch: importing torch would
    cost the `prepare` stage more than the resizing itself.
    """
    rows, columns = (_resize_weights(n, size) for n in depth.shape[1:])

    def down(x: np.ndarray) -> np.ndarray:
        return rows @ x.astype(np.float32, copy=False) @ columns.T

    rgb = np.clip(np.rint(down(rgb)), 0, 255).astype(np.uint8)
    valid = depth < max_range
    weight = down(valid)
    mean_depth = down(np.where(valid, depth, 0)) / np.maximum(weight, 1e-6)
    depth = np.where(weight >= 0.5, mean_depth, np.float32(max_range))
    return rgb, depth, rows @ azimuth, columns @ zenith


def to_tensors(rgb, depth, azimuth, zenith, image_size: int, max_range: float):
    """rgb uint8 (N, 4, H, W), depth (N, H, W) -> rgb and xyza (N, 4, size, size) arrays."""
    if (image_size, image_size) != depth.shape[1:]:
        rgb, depth, azimuth, zenith = _resize(rgb, depth, azimuth, zenith, image_size, max_range)
    return rgb, depth_to_xyza(depth, azimuth, zenith, max_range)


def _shared_array(folder: Path | None, name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
    """An array whose writes by forked worker processes are seen here: the memory-mapped file
    `folder/<name>.npy`, or anonymous shared memory where `folder` is None."""
    if folder is not None:
        return np.lib.format.open_memmap(folder / f"{name}.npy", "w+", dtype, shape)
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    return np.frombuffer(mmap.mmap(-1, max(nbytes, 1)), dtype, count=int(np.prod(shape))
                         ).reshape(shape)


_job: dict = {}  # in the decoding processes: what `_start_worker` was given


def _start_worker(classes, rgb, xyza, image_size: int, max_range: float) -> None:
    """Worker initializer; under fork the output arrays are not copied but shared."""
    _job.update(classes=classes, rgb=rgb, xyza=xyza, image_size=image_size, max_range=max_range)


def _decode_chunk(k: int, start: int, stop: int, row: int) -> tuple[list, list, float, float]:
    """Decode and convert pairs start:stop of the k-th class into the output rows from `row`.

    Runs in a worker process. Returns per pair its content hash (None if corrupt; its row is
    then garbage, dropped later), the (path, reason) of each corrupt file, and the seconds spent
    decoding, then converting and storing.
    """
    start_time = time.perf_counter()
    c = _job["classes"][k]
    rgb = np.zeros((stop - start, 4, *c.shape), np.uint8)
    depth = np.zeros((stop - start, *c.shape), np.float32)
    read_npy = NpyReader()
    digests, errors = [], []
    for i, stem in enumerate(c.stems[start:stop]):
        try:
            rgba, d = decode_pair(c.root / "rgb" / f"{stem}.png",
                                  c.root / "lidar" / f"{stem}.npy", c.shape, read_npy)
        except CorruptFile as e:
            digests.append(None)
            errors.append((str(e.path), e.reason))
            continue
        rgb[i] = rgba.transpose(2, 0, 1)
        depth[i] = d
        digest = hashlib.blake2b(rgba.tobytes(), digest_size=8)
        digest.update(depth[i].tobytes())
        digests.append(digest.hexdigest())
    decoded = time.perf_counter()
    rows = slice(row, row + stop - start)
    _job["rgb"][rows], _job["xyza"][rows] = to_tensors(
        rgb, depth, c.azimuth, c.zenith, _job["image_size"], _job["max_range"])
    return digests, errors, decoded - start_time, time.perf_counter() - decoded


def _load(root, image_size: int, max_range: float, skip_invalid: bool, progress: bool,
          folder: Path | None = None) -> tuple[Prepared, dict]:
    """`load_raw`, decoding into rgb.npy and xyza.npy in `folder` if given (see _shared_array)."""
    start = time.perf_counter()
    classes = scan(root)
    for c in classes:
        if image_size > min(c.shape):
            raise DatasetError(
                f"data.image_size {image_size} exceeds the native size {c.shape} of {c.root}"
            )
    ids = [(f"{c.name}/{stem}", c.name, c.label) for c in classes for stem in c.stems]
    shape = (len(ids), 4, image_size, image_size)
    rgb = _shared_array(folder, "rgb", shape, np.uint8)
    xyza = _shared_array(folder, "xyza", shape, np.float32)
    first_rows = np.cumsum([0] + [len(c.stems) for c in classes])
    tasks = [(k, i, min(i + CHUNK, len(c.stems)), first_rows[k] + i)
             for k, c in enumerate(classes) for i in range(0, len(c.stems), CHUNK)]
    scanned = time.perf_counter()
    digests, skipped, worker_seconds = [], [], np.zeros(2)  # decoding, converting
    # Decoding is per-file Python, so threads do not scale: forked processes decode, convert
    # and store into the shared output arrays, and send back only hashes and errors.
    with ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("fork"),
                             initializer=_start_worker,
                             initargs=(classes, rgb, xyza, image_size, max_range)) as pool, \
            tqdm(total=len(ids), desc="prepare", unit="pair", disable=not progress) as bar:
        for chunk_digests, errors, *seconds in pool.map(_decode_chunk, *zip(*tasks, strict=True)):
            digests += chunk_digests
            skipped += [{"path": path, "reason": why} for path, why in errors]
            worker_seconds += seconds
            bar.update(len(chunk_digests))
    decoded = time.perf_counter()
    if skipped and not skip_invalid:
        listing = "\n  ".join(f"{s['path']}: {s['reason']}" for s in skipped)
        raise DatasetError(
            f"{len(skipped)} corrupt file(s) under {root} (set data.skip_invalid: true to skip "
            f"them):\n  {listing}"
        )
    ok = np.array([d is not None for d in digests], dtype=bool)
    if not ok.any():
        raise DatasetError(f"{root}: every pair was invalid; nothing to prepare")
    if not ok.all():
        rgb, xyza = rgb[ok], xyza[ok]
    index = pd.DataFrame([(*i, d) for i, d in zip(ids, digests, strict=True) if d is not None],
                         columns=["id", "class", "label", "hash"])
    index.insert(0, "row", np.arange(len(index)))
    report = {
        "root": str(root),
        "samples": len(index),
        "image_size": image_size,
        "classes": {
            c.name: {
                "label": c.label,
                "native_shape": list(c.shape),
                "pairs": int((index["class"] == c.name).sum()),
                "unmatched_rgb": len(c.unmatched_rgb),
                "unmatched_lidar": len(c.unmatched_lidar),
                "ignored": len(c.ignored),
                "unmatched_rgb_examples": c.unmatched_rgb[:EXAMPLES],
                "unmatched_lidar_examples": c.unmatched_lidar[:EXAMPLES],
                "ignored_examples": c.ignored[:EXAMPLES],
            }
            for c in classes
        },
        "skipped": skipped,
    }
    # Wall-clock seconds per step; the pool's are split as the workers split their own time.
    decode = float((decoded - scanned) * worker_seconds[0] / max(worker_seconds.sum(), 1e-9))
    report["seconds"] = {"scan": scanned - start, "decode": decode,
                         "convert": time.perf_counter() - scanned - decode}
    data = Prepared(rgb, xyza, index["label"].to_numpy(np.int64), index, [c.name for c in classes])
    return data, report


def load_raw(
    root: str | Path,
    image_size: int,
    max_range: float = 50.0,
    skip_invalid: bool = False,
    progress: bool = True,
) -> tuple[Prepared, dict]:
    """Decode and convert every pair under `root`; return the data and its report.

    The report holds everything `prepare` writes to report.json, plus `seconds`: the wall-clock
    time of each step, which varies from run to run and is therefore kept out of the cache.
    """
    return _load(root, image_size, max_range, skip_invalid, progress)


def prepare(root: str | Path, out_dir: str | Path, image_size: int, max_range: float = 50.0,
            skip_invalid: bool = False, progress: bool = True) -> dict:
    """Decode every pair under `root` into the tensor cache at `out_dir`; return the report.

    The workers write the pixels straight into the memory-mapped .npy files: no copy in memory
    and no separate writing pass. Same input, same bytes: report.json holds no timing (the
    returned report's `seconds` is not written).
    """
    with atomic_dir(out_dir) as tmp:
        data, report = _load(root, image_size, max_range, skip_invalid, progress, tmp)
        start = time.perf_counter()
        if report["skipped"]:  # the files hold the skipped pairs' rows too
            write_npy(tmp / "rgb.npy", data.rgb)
            write_npy(tmp / "xyza.npy", data.xyza)
        np.save(tmp / "labels.npy", data.labels)
        data.index.to_csv(tmp / "index.csv", index=False)
        write_json(tmp / "report.json", {k: v for k, v in report.items() if k != "seconds"})
    report["seconds"]["write"] = time.perf_counter() - start
    return report
