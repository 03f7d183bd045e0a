"""Decode the course's layout (see `fusion.data.layout`) into the prepared cache, and report on it.

`data.raw` is a folder or an archive read in place (`fusion.data.sources`). Structural problems fail
in the scan, before any file is decoded; corrupt files are collected and reported all at once,
or skipped and listed with `skip_invalid`.

The prepared cache (`prepare()`): `rgb.npy` uint8 (N, 4, H, W), `xyza.npy` float32 (N, 4, H, W),
`labels.npy` int64 (N,), `index.csv` (row, id, class, label, hash) and `report.json`: counts per
class, warnings, and every file not read with its reason, paths relative to the data root (no
timing, no location): the same data gives the same bytes wherever it lies and whether it is
an archive or a folder, so a re-run re-runs nothing downstream.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import mmap
import multiprocessing
import os
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from fusion.data.geometry import depth_to_xyza
from fusion.data.layout import IDENTICAL, ClassFolder, Layout, load_angles, scan, scan_layout
from fusion.data.prepared import Prepared
from fusion.data.sources import DatasetError, Source, open_source, read_file
from fusion.io import atomic_dir, write_json, write_npy

__all__ = ["ClassFolder", "CorruptFile", "DatasetError", "NpyReader", "decode_pair",
           "load_angles", "load_raw", "prepare", "scan", "to_tensors"]  # fusion.predict's too

CHUNK = 256  # pairs per decoding task
WORKERS = os.cpu_count() or 1  # decoding processes
SKEW = 1.5  # a larger ratio of the largest class to the smallest is warned about


class CorruptFile(ValueError):
    def __init__(self, path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


class NpyReader:
    """Reads .npy bytes; bytes whose header equals that of the first array read are taken
    as they are, without parsing the header again (np.load's parse is most of its cost on
    small arrays). Any other bytes go through np.load, which validates them."""

    def __init__(self):
        self.header: bytes | None = None

    def __call__(self, raw: bytes) -> np.ndarray:
        if self.header is not None and raw.startswith(self.header) and len(raw) == self.size:
            return np.frombuffer(raw, self.dtype, offset=len(self.header)).reshape(self.shape)
        array = load_npy(raw)
        if self.header is None and array.flags.c_contiguous and not array.dtype.hasobject:
            self.dtype, self.shape = array.dtype, array.shape
            self.header = raw[: len(raw) - array.nbytes]
            self.size = len(raw)
        return array


def load_npy(raw: bytes) -> np.ndarray:
    return np.load(io.BytesIO(raw), allow_pickle=False)


def _read(read, name) -> bytes:
    try:
        return read(name)
    except OSError as e:  # the reason alone: a message with the path would put it in the report
        raise CorruptFile(name, f"unreadable ({e.strerror or e})") from None


def decode_pair(png, npy, shape: tuple[int, int], read_npy=load_npy, read=read_file
                ) -> tuple[np.ndarray, np.ndarray]:
    """One pair -> (rgba uint8 (H, W, 4), depth float32 (H, W)); raise CorruptFile if bad.

    `png` and `npy` name the files, `read` gives their bytes (a path's by default; a source's
    `read` for its names); `shape` is (len(azimuth), len(zenith)), that of the depth map.
    """
    try:
        with Image.open(io.BytesIO(_read(read, png))) as image:
            rgba = np.asarray(image if image.mode == "RGBA" else image.convert("RGBA"))
    except CorruptFile:
        raise
    except UnidentifiedImageError:
        raise CorruptFile(png, "undecodable image (not an image file)") from None
    except Exception as e:  # noqa: BLE001 - every decoding failure is reported with its path
        raise CorruptFile(png, f"undecodable image ({e})") from None
    try:
        depth = read_npy(_read(read, npy))
    except CorruptFile:
        raise
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


def _start_worker(source, classes, rgb, xyza, image_size: int, max_range: float) -> None:
    """Worker initializer; under fork the source's mapping and the outputs are shared."""
    _job.update(source=source, classes=classes, rgb=rgb, xyza=xyza, image_size=image_size,
                max_range=max_range)


def _decode_chunk(k: int, start: int, stop: int, row: int
                  ) -> tuple[list, list, list, float, float]:
    """Decode and convert pairs start:stop of the k-th class into the output rows from `row`.

    Runs in a worker process. Returns per pair its content hash (None if corrupt; its row is
    then garbage, dropped later), the (name, reason) of each corrupt file, the pairs whose RGB
    is all black (indices into the chunk), and the seconds spent decoding, then converting and
    storing.
    """
    start_time = time.perf_counter()
    c, read = _job["classes"][k], _job["source"].read
    rgb = np.empty((stop - start, 4, *c.shape), np.uint8)
    depth = np.empty((stop - start, *c.shape), np.float32)
    read_npy = NpyReader()
    digests, errors = [], []
    for i, stem in enumerate(c.stems[start:stop]):
        try:
            rgba, d = decode_pair(c.files["rgb"][stem], c.files["lidar"][stem], c.shape,
                                  read_npy, read)
        except CorruptFile as e:
            digests.append(None)
            errors.append((e.path, e.reason))
            continue
        rgb[i] = rgba.transpose(2, 0, 1)
        depth[i] = d
        digest = hashlib.blake2b(rgba, digest_size=8)  # both C-contiguous: their bytes
        digest.update(depth[i])
        digests.append(digest.hexdigest())
    black = np.flatnonzero(~rgb[:, :3].any(axis=(1, 2, 3))).tolist()
    black = [i for i in black if digests[i] is not None]
    decoded = time.perf_counter()
    rows = slice(row, row + stop - start)
    _job["rgb"][rows], _job["xyza"][rows] = to_tensors(
        rgb, depth, c.azimuth, c.zenith, _job["image_size"], _job["max_range"])
    return digests, errors, black, decoded - start_time, time.perf_counter() - decoded


@contextlib.contextmanager
def _opened(raw, image_size: int) -> Iterator[tuple[Source, Layout]]:
    """`raw`'s source and layout, checked against `image_size`: every structural problem is
    raised here, before anything is decoded or written."""
    with open_source(raw) as source:
        layout = scan_layout(source)
        for c in layout.classes:
            if image_size > min(c.shape):
                raise DatasetError(
                    f"data.image_size {image_size} exceeds the native size {c.shape} of {c.root}")
        yield source, layout


def _load(source: Source, layout: Layout, start: float, image_size: int, max_range: float,
          skip_invalid: bool, progress: bool, folder: Path | None = None
          ) -> tuple[Prepared, dict]:
    """`load_raw` from `_opened`, decoding into rgb.npy and xyza.npy in `folder` if given (see
    `_shared_array`); `start` is when the scan began."""
    pairs = [(c, stem) for c in layout.classes for stem in c.stems]
    shape = (len(pairs), 4, image_size, image_size)
    rgb = _shared_array(folder, "rgb", shape, np.uint8)
    xyza = _shared_array(folder, "xyza", shape, np.float32)
    first_rows = np.cumsum([0] + [len(c.stems) for c in layout.classes])
    tasks = [(k, i, min(i + CHUNK, len(c.stems)), first_rows[k] + i)
             for k, c in enumerate(layout.classes) for i in range(0, len(c.stems), CHUNK)]
    scanned = time.perf_counter()
    digests, corrupt, black, worker_seconds = [], [], [], np.zeros(2)  # decoding, converting
    # Decoding is per-file Python, so threads do not scale: forked processes decode, convert
    # and store into the shared output arrays, and send back only hashes and errors.
    with ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("fork"),
                             initializer=_start_worker,
                             initargs=(source, layout.classes, rgb, xyza, image_size,
                                       max_range)) as pool, \
            tqdm(total=len(pairs), desc="prepare", unit="pair", disable=not progress) as bar:
        results = zip(tasks, pool.map(_decode_chunk, *zip(*tasks, strict=True)), strict=True)
        for task, (chunk_digests, errors, chunk_black, *seconds) in results:
            digests += chunk_digests
            corrupt += errors
            black += [task[3] + i for i in chunk_black]
            worker_seconds += seconds
            bar.update(len(chunk_digests))
    decoded = time.perf_counter()
    if corrupt and not skip_invalid:
        listing = "\n  ".join(f"{source.where(name)}: {why}" for name, why in corrupt)
        raise DatasetError(f"{len(corrupt)} corrupt file(s) under {source.path} (set "
                           f"data.skip_invalid: true to skip them):\n  {listing}")
    black = [pairs[i] for i in black]
    black_files = len({source.read(c.files["rgb"][stem]) for c, stem in black})
    ok = np.array([d is not None for d in digests], dtype=bool)
    if not ok.any():
        raise DatasetError(f"{source.path}: every pair was invalid; nothing to prepare")
    if not ok.all():
        rgb, xyza = rgb[ok], xyza[ok]
    index = pd.DataFrame([(f"{c.name}/{stem}", c.name, c.label, d)
                          for (c, stem), d in zip(pairs, digests, strict=True) if d is not None],
                         columns=["id", "class", "label", "hash"])
    index.insert(0, "row", np.arange(len(index)))
    failed = [pairs[i] for i in np.flatnonzero(~ok)]  # in the order of `corrupt`
    report = _report(layout, index, image_size, _dropped(layout, failed, corrupt),
                     [f"{c.name}/{stem}" for c, stem in black], black_files)
    # Wall-clock seconds per step; the pool's are split as the workers split their own time.
    decode = float((decoded - scanned) * worker_seconds[0] / max(worker_seconds.sum(), 1e-9))
    report["seconds"] = {"scan": scanned - start, "decode": decode,
                         "convert": time.perf_counter() - scanned - decode}
    data = Prepared(rgb, xyza, index["label"].to_numpy(np.int64), index,
                    [c.name for c in layout.classes])
    return data, report


def _dropped(layout: Layout, failed: list[tuple[ClassFolder, str]], corrupt: list[tuple]
             ) -> list[dict[str, str]]:
    """{path, reason} for both files of each pair dropped as corrupt (`skip_invalid`)."""
    entries = []
    for (c, stem), (name, reason) in zip(failed, corrupt, strict=True):
        for member in (c.files["rgb"][stem], c.files["lidar"][stem]):
            entries.append({"path": layout.relative(member), "reason": reason if member == name
                            else f"pair dropped: {layout.relative(name)} is corrupt"})
    return entries


def _report(layout: Layout, index: pd.DataFrame, image_size: int, dropped: list[dict],
            black: list[str], black_files: int) -> dict:
    """What report.json holds: counts per class, warnings, every file not read."""
    pairs = Counter(index["class"])
    classes = {c.name: {
        "label": c.label,
        "native_shape": list(c.shape),
        "pairs": pairs[c.name],
        "unmatched_rgb": len(c.unmatched_rgb),
        "unmatched_lidar": len(c.unmatched_lidar),
        "duplicates": len(c.duplicates),
        "nested": len(c.nested),
        "foreign": len(c.foreign),
        "corrupt_pairs": len(c.stems) - pairs[c.name],
        "black_rgb": sum(i.startswith(f"{c.name}/") for i in black),
    } for c in layout.classes}
    report = {
        "samples": len(index),
        "image_size": image_size,
        "classes": classes,
        "foreign": len(layout.foreign),  # outside the class folders
        "black_rgb": {"samples": len(black), "distinct_files": black_files, "ids": black},
    }
    report["warnings"] = _warnings(layout, report)
    report["skipped"] = sorted(layout.skipped() + dropped, key=lambda s: s["path"])
    return report


def _counted(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {n:,}" for name, n in counts.items() if n)


def _warnings(layout: Layout, report: dict) -> list[str]:
    """One line per kind of defect found, with its counts and what is done about it."""
    classes, lines = report["classes"], []
    for c in layout.classes:
        if c.unmatched_rgb or c.unmatched_lidar:
            lines.append(f"{c.name}: {len(c.unmatched_rgb):,} RGB file(s) without a LiDAR file "
                         f"and {len(c.unmatched_lidar):,} LiDAR file(s) without an RGB file, "
                         "skipped")
        if c.duplicates:
            identical = sum(r.startswith(IDENTICAL) for r in c.duplicates.values())
            lines.append(f"{c.name}: {len(c.duplicates):,} copies named like '0001 (1).npy' "
                         f"skipped, {identical:,} of them identical to their original; the "
                         "originals are read")
        if c.nested:
            lines.append(f"{c.name}: {len(c.nested):,} file(s) in a folder copied into itself "
                         f"({', '.join(sorted({p.split('/')[1] for p in c.nested}))}/ inside "
                         "itself) skipped; the outer folder is read")
    foreign = sum(c["foreign"] for c in classes.values()) + report["foreign"]
    if foreign:
        examples = sorted([*layout.foreign, *(p for c in layout.classes for p in c.foreign)])
        lines.append(f"{foreign:,} foreign file(s) ignored (not RGB .png or LiDAR .npy sample "
                     f"files), e.g. {', '.join(examples[:3])}")
    dropped = {name: c["corrupt_pairs"] for name, c in classes.items()}
    if any(dropped.values()):
        lines.append(f"pairs with a corrupt file skipped (data.skip_invalid): {_counted(dropped)}")
    lines += _balance(layout, {name: c["pairs"] for name, c in classes.items()})
    black = {name: c["black_rgb"] for name, c in classes.items()}
    if any(black.values()):
        lines.append(
            f"{sum(black.values()):,} sample(s) with an all-black RGB frame ({_counted(black)}), "
            f"in {report['black_rgb']['distinct_files']:,} distinct file(s): no picture, which "
            "no RGB model can classify; kept (their LiDAR is real), listed under black_rgb.ids")
    return lines


def _balance(layout: Layout, pairs: dict[str, int]) -> list[str]:
    """A warning if the classes' pair counts differ by more than SKEW, with its cause."""
    total, most, least = sum(pairs.values()), max(pairs.values()), min(pairs.values())
    if most <= SKEW * least:
        return []
    shares = ", ".join(f"{name} {n:,} ({n / total:.0%})" for name, n in pairs.items())
    causes = [f"{c.name} has {len(c.stems) + len(c.unmatched_rgb):,} RGB and "
              f"{len(c.stems) + len(c.unmatched_lidar):,} LiDAR files"
              for c in layout.classes if c.unmatched_rgb or c.unmatched_lidar]
    majority = max(pairs, key=pairs.get)
    return [f"class balance: {shares} pairs"
            + (f", skewed by pairing ({'; '.join(causes)})" if causes else "")
            + f"; always answering {majority} is {most / total:.0%} right. Set "
            "train.class_weights: true (the loss weighted by inverse class frequency)"
            + (" or supply the missing files" if causes else "")]


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
    start = time.perf_counter()
    with _opened(root, image_size) as (source, layout):
        return _load(source, layout, start, image_size, max_range, skip_invalid, progress)


def prepare(root: str | Path, out_dir: str | Path, image_size: int, max_range: float = 50.0,
            skip_invalid: bool = False, progress: bool = True) -> dict:
    """Decode every pair under `root` into the tensor cache at `out_dir`; return the report.

    The workers write the pixels straight into the memory-mapped .npy files: no copy in memory
    and no separate writing pass. Same input, same bytes: report.json holds no timing (the
    returned report's `seconds` is not written).
    """
    start = time.perf_counter()
    with _opened(root, image_size) as (source, layout), atomic_dir(out_dir) as tmp:
        data, report = _load(source, layout, start, image_size, max_range, skip_invalid,
                             progress, tmp)
        start = time.perf_counter()
        if any(c["corrupt_pairs"] for c in report["classes"].values()):  # rows of theirs too
            write_npy(tmp / "rgb.npy", data.rgb)
            write_npy(tmp / "xyza.npy", data.xyza)
        np.save(tmp / "labels.npy", data.labels)
        data.index.to_csv(tmp / "index.csv", index=False)
        write_json(tmp / "report.json", {k: v for k, v in report.items() if k != "seconds"})
    report["seconds"]["write"] = time.perf_counter() - start
    return report
