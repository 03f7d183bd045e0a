"""Scan the course's "assessment" layout, pair RGB with LiDAR, validate, and cache as tensors.

Layout: `<root>/<class>/rgb/<stem>.png`, `<root>/<class>/lidar/<stem>.npy`, and per class folder
`azimuth.npy` (one angle per row) and `zenith.npy` (one per column). Classes are the class
folders in sorted order (cubes = 0, spheres = 1). Pairs match by stem; unmatched and foreign
files are counted, never fatal. Structural problems (missing root, class without angle files,
angle lengths that do not fit the depth maps) fail before any file is decoded; corrupt files
are collected and reported all at once, or skipped and listed with `skip_invalid`.

The prepared cache (`prepare()`): `rgb.npy` uint8 (N, 4, H, W), `xyza.npy` float32 (N, 4, H, W),
`labels.npy` int64 (N,), `index.csv` (row, id, class, label, hash) and `report.json`.
"""

from __future__ import annotations

import hashlib
import io
import json
import mmap
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from tqdm import tqdm

from fusion.geometry import depth_to_xyza
from fusion.io import atomic_dir, write_json

ANGLE_FILES = ("azimuth.npy", "zenith.npy")
EXAMPLES = 20  # file names listed per category in the report; the counts are always complete
CHUNK = 256  # pairs per decoding task
WORKERS = 2  # decoding processes (this project's machines have 2 cores)


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


def _resize(rgb: np.ndarray, depth: np.ndarray, azimuth, zenith, size: int, max_range: float):
    """Downsample a class to `size` x `size` with torchvision (antialiased bilinear).

    Depth is averaged over valid returns only (mask-weighted), a pixel stays a return where
    at least half its footprint was one, and the angles are averaged the same way, so the
    XYZA formula still holds at the new resolution.
    """
    import torch
    from torchvision.transforms.v2 import functional as F

    def down(x: torch.Tensor, shape) -> torch.Tensor:
        return F.resize(x, list(shape), interpolation=F.InterpolationMode.BILINEAR, antialias=True)

    rgb_t = down(torch.from_numpy(rgb), (size, size))  # uint8 (N, 4, size, size)
    depth_t = torch.from_numpy(depth).unsqueeze(1)  # (N, 1, H, W)
    valid = (depth_t < max_range).float()
    weight = down(valid, (size, size))
    mean_depth = down(depth_t * valid, (size, size)) / weight.clamp_min(1e-6)
    depth_t = torch.where(weight >= 0.5, mean_depth, torch.full_like(mean_depth, max_range))
    # Angles are resized as full images (one is constant along each row, the other along each
    # column), by the same transform as the pixels; a width-1 image would not resize correctly.
    h, w = depth.shape[1:]
    az = down(torch.from_numpy(azimuth)[:, None].expand(h, w)[None], (size, size))[0, :, 0]
    ze = down(torch.from_numpy(zenith)[None, :].expand(h, w)[None], (size, size))[0, 0, :]
    return rgb_t.numpy(), depth_t[:, 0].numpy(), az.numpy(), ze.numpy()


def to_tensors(rgb, depth, azimuth, zenith, image_size: int, max_range: float):
    """rgb uint8 (N, 4, H, W), depth (N, H, W) -> rgb and xyza (N, 4, size, size) arrays."""
    if (image_size, image_size) != depth.shape[1:]:
        rgb, depth, azimuth, zenith = _resize(rgb, depth, azimuth, zenith, image_size, max_range)
    return rgb, depth_to_xyza(depth, azimuth, zenith, max_range)


@dataclass
class Prepared:
    """The prepared data in memory."""

    rgb: np.ndarray  # uint8 (N, 4, H, W)
    xyza: np.ndarray  # float32 (N, 4, H, W)
    labels: np.ndarray  # int64 (N,)
    index: pd.DataFrame  # row, id, class, label, hash
    classes: list[str]

    @property
    def image_size(self) -> int:
        return self.rgb.shape[-1]


def _shared_array(shape: tuple[int, ...], dtype) -> np.ndarray:
    """An array in anonymous shared memory: writes by forked worker processes are seen here."""
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    return np.frombuffer(mmap.mmap(-1, max(nbytes, 1)), dtype, count=int(np.prod(shape))
                         ).reshape(shape)


_outputs: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # class -> (rgb, depth), in workers


def _share_outputs(outputs: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    _outputs.update(outputs)  # worker initializer: under fork the arrays stay shared


def _decode_chunk(c: ClassFolder, start: int, stop: int) -> tuple[list, list]:
    """Decode pairs start:stop of class `c` into the shared arrays (in a worker process).

    Returns per pair its content hash (None if corrupt), and the (path, reason) of each
    corrupt file.
    """
    rgb, depth = _outputs[c.name]
    read_npy = NpyReader()
    digests, errors = [], []
    for i in range(start, stop):
        stem = c.stems[i]
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
    return digests, errors


def load_raw(
    root: str | Path,
    image_size: int,
    max_range: float = 50.0,
    skip_invalid: bool = False,
    progress: bool = True,
) -> tuple[Prepared, dict]:
    """Decode and convert every pair under `root`; return the data and its report."""
    start = time.perf_counter()
    classes = scan(root)
    for c in classes:
        if image_size > min(c.shape):
            raise DatasetError(
                f"data.image_size {image_size} exceeds the native size {c.shape} of {c.root}"
            )
    total = sum(len(c.stems) for c in classes)
    bar = tqdm(total=total, desc="prepare", unit="pair", disable=not progress)
    outputs = {c.name: (_shared_array((len(c.stems), 4, *c.shape), np.uint8),
                        _shared_array((len(c.stems), *c.shape), np.float32)) for c in classes}
    rgb_parts, xyza_parts, rows, skipped = [], [], [], []
    # Decoding is per-file Python, so threads do not scale: forked processes write the shared
    # arrays and send back only hashes and errors.
    with ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("fork"),
                             initializer=_share_outputs, initargs=(outputs,)) as pool:
        for c in classes:
            starts = range(0, len(c.stems), CHUNK)
            stops = [min(i + CHUNK, len(c.stems)) for i in starts]
            digests = []
            for chunk_digests, errors in pool.map(_decode_chunk, repeat(c), starts, stops):
                digests += chunk_digests
                skipped += [{"path": path, "reason": why} for path, why in errors]
                bar.update(len(chunk_digests))
            rows += [(f"{c.name}/{stem}", c.name, c.label, digest)
                     for stem, digest in zip(c.stems, digests, strict=True) if digest is not None]
            rgb, depth = outputs[c.name]
            ok = np.array([d is not None for d in digests], dtype=bool)
            if not ok.all():
                rgb, depth = rgb[ok], depth[ok]
            rgb, xyza = to_tensors(rgb, depth, c.azimuth, c.zenith, image_size, max_range)
            rgb_parts.append(rgb)
            xyza_parts.append(xyza)
    bar.close()
    if skipped and not skip_invalid:
        listing = "\n  ".join(f"{s['path']}: {s['reason']}" for s in skipped)
        raise DatasetError(
            f"{len(skipped)} corrupt file(s) under {root} (set data.skip_invalid: true to skip "
            f"them):\n  {listing}"
        )
    if not rows:
        raise DatasetError(f"{root}: every pair was invalid; nothing to prepare")

    index = pd.DataFrame(rows, columns=["id", "class", "label", "hash"])
    index.insert(0, "row", np.arange(len(index)))
    seconds = time.perf_counter() - start
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
        "seconds": round(seconds, 3),
        "samples_per_second": round(total / seconds, 1),
    }
    data = Prepared(
        rgb=np.concatenate(rgb_parts),
        xyza=np.concatenate(xyza_parts),
        labels=index["label"].to_numpy(np.int64),
        index=index,
        classes=[c.name for c in classes],
    )
    return data, report


def prepare(root: str | Path, out_dir: str | Path, image_size: int, max_range: float = 50.0,
            skip_invalid: bool = False, progress: bool = True) -> dict:
    """Decode every pair under `root` into the tensor cache at `out_dir`; return the report."""
    data, report = load_raw(root, image_size, max_range, skip_invalid, progress)
    with atomic_dir(out_dir) as tmp:
        np.save(tmp / "rgb.npy", data.rgb)
        np.save(tmp / "xyza.npy", data.xyza)
        np.save(tmp / "labels.npy", data.labels)
        data.index.to_csv(tmp / "index.csv", index=False)
        write_json(tmp / "report.json", report)
    return report


def load_prepared(folder: str | Path, mmap: bool = False) -> Prepared:
    """Load the cache written by `prepare`, checking that its parts agree."""
    folder = Path(folder)
    names = ("rgb.npy", "xyza.npy", "labels.npy", "index.csv", "report.json")
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise FileNotFoundError(f"{folder}: prepared cache incomplete, missing {missing} "
                                "(run the `prepare` stage)")
    mode = "r" if mmap else None
    rgb = np.load(folder / "rgb.npy", mmap_mode=mode)
    xyza = np.load(folder / "xyza.npy", mmap_mode=mode)
    labels = np.load(folder / "labels.npy")
    index = pd.read_csv(folder / "index.csv")
    n = len(index)
    if not (rgb.shape[0] == xyza.shape[0] == labels.shape[0] == n) or rgb.shape != xyza.shape:
        raise ValueError(f"{folder}: cache parts disagree: rgb {rgb.shape}, xyza {xyza.shape}, "
                         f"labels {labels.shape}, index {n} rows")
    report = json.loads((folder / "report.json").read_text())
    classes = sorted(report["classes"], key=lambda name: report["classes"][name]["label"])
    return Prepared(rgb, xyza, labels, index, classes)
