"""Find the course's layout in `data.raw` and decide, file by file, what is read.

Layout: `<root>/<class>/rgb/<stem>.png`, `<root>/<class>/lidar/<stem>.npy`, and per class folder
`azimuth.npy` (one angle per row) and `zenith.npy` (one per column). `data.raw` (a folder or an
archive, see `fusion.data.sources`) is the data root or holds exactly one, such as the archive's
`assessment/`: the folder whose subfolders have at least two of rgb/, lidar/ and the angle
files. Classes are its subfolders in sorted order (cubes = 0, spheres = 1); pairs match by stem.

Every other file is skipped and listed with its reason, by its path relative to the data root
(`../` for one outside it): unmatched files; copies named like `0001 (1).npy`, compared with
their original; a modality folder copied into itself (`lidar/lidar/`); foreign files.
Structural problems (no data root or several, a class without its folders or angle files,
angles that do not fit the depth maps, sample files one folder too deep) fail here, before
anything is decoded, all at once.
"""

from __future__ import annotations

import io
import posixpath
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fusion.data.sources import DatasetError, Source, open_source

MODALITIES = {"rgb": ".png", "lidar": ".npy"}  # folder -> sample file suffix
ANGLE_FILES = ("azimuth.npy", "zenith.npy")
COPY = re.compile(r"(.+) \(\d+\)")  # "0001 (1)": a file manager's copy of 0001
UNMATCHED = {"rgb": "unmatched: no LiDAR file with the same stem",
             "lidar": "unmatched: no RGB file with the same stem"}
FOREIGN = "foreign: not an RGB .png or LiDAR .npy sample file"
IDENTICAL = "duplicate: identical to"


@dataclass
class ClassFolder:
    name: str
    label: int
    root: Path  # the class folder as the user finds it (a real path for a folder source)
    azimuth: np.ndarray  # (H,) radians, one per row
    zenith: np.ndarray  # (W,) radians, one per column
    stems: list[str]  # matched pairs, sorted
    files: dict[str, dict[str, str]]  # modality -> stem -> its name in the source
    unmatched_rgb: list[str] = field(default_factory=list)  # stems
    unmatched_lidar: list[str] = field(default_factory=list)
    duplicates: dict[str, str] = field(default_factory=dict)  # path -> reason (compared)
    nested: dict[str, str] = field(default_factory=dict)  # path -> reason
    foreign: list[str] = field(default_factory=list)  # paths

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.azimuth), len(self.zenith)

    @property
    def ignored(self) -> list[str]:
        """The skipped files other than the unmatched ones, relative to the data root."""
        return sorted([*self.duplicates, *self.nested, *self.foreign])

    def skipped(self) -> list[dict[str, str]]:
        """Every file of the class folder that is not read: {path, reason}."""
        unmatched = [(f"{self.name}/{m}/{posixpath.basename(self.files[m][stem])}", UNMATCHED[m])
                     for m, stems in (("rgb", self.unmatched_rgb), ("lidar", self.unmatched_lidar))
                     for stem in stems]
        reasons = [*unmatched, *self.duplicates.items(), *self.nested.items(),
                   *((path, FOREIGN) for path in self.foreign)]
        return [{"path": path, "reason": reason} for path, reason in reasons]


@dataclass
class Layout:
    prefix: str  # the data root's path in the source, with a trailing "/" ("" for data.raw)
    classes: list[ClassFolder]
    foreign: list[str]  # files outside the class folders, relative to the data root

    def relative(self, name: str) -> str:
        """A source file's path relative to the data root."""
        return name[len(self.prefix):]

    def skipped(self) -> list[dict[str, str]]:
        """Every file under `data.raw` that is not read, sorted by path: {path, reason}."""
        skipped = [s for c in self.classes for s in c.skipped()]
        skipped += [{"path": path, "reason": FOREIGN} for path in self.foreign]
        return sorted(skipped, key=lambda s: s["path"])


def load_angles(path: str | Path, data: bytes | None = None) -> np.ndarray:
    """A 1-D float angle array; `path` names the file, `data` holds its bytes if already read."""
    try:
        angles = np.load(io.BytesIO(data) if data is not None else path, allow_pickle=False)
    except Exception as e:  # noqa: BLE001 - any decoding failure is reported with its path
        raise DatasetError(f"{path}: cannot read angle file ({e})") from None
    if angles.ndim != 1 or angles.size == 0 or not np.issubdtype(angles.dtype, np.floating):
        raise DatasetError(f"{path}: expected a 1-D float array, got {angles.dtype} {angles.shape}")
    if not np.isfinite(angles).all():
        raise DatasetError(f"{path}: contains NaN or inf")
    return angles.astype(np.float32)


def _hidden(path: str) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in path.split("/"))


def find_root(source: Source) -> str:
    """The data root's path in `source` ("" for `data.raw` itself); DatasetError unless one."""
    if not source.listing and not source.dirs:
        raise DatasetError(f"{source.path}: empty data root, expected class folders such as "
                           "cubes/")
    markers = defaultdict(set)  # candidate class folder -> which of its markers exist
    for name in source.dirs:
        folder, _, base = name.rpartition("/")
        if base in MODALITIES:
            markers[folder].add(base)
    for folder, names in source.listing.items():
        markers[folder].update(set(ANGLE_FILES).intersection(names))
    roots = sorted({c.rpartition("/")[0] for c, found in markers.items()
                    if len(found) >= 2 and c and not _hidden(c)})
    if len(roots) > 1:
        listing = ", ".join(f"{r or '.'}/" for r in roots)
        raise DatasetError(f"{source.path}: several data roots ({listing}); set data.raw to the "
                           "one to prepare")
    if not roots:
        raise DatasetError(
            f"{source.path}: no class folders found (expected <class>/rgb/<stem>.png, "
            "<class>/lidar/<stem>.npy, <class>/azimuth.npy and zenith.npy, in data.raw or in "
            "one folder inside it such as assessment/)")
    return roots[0]


def scan_layout(source: Source) -> Layout:
    """Find the class folders and their pairs; DatasetError on structural problems."""
    root = find_root(source)
    prefix = f"{root}/" if root else ""
    by_class, foreign = defaultdict(dict), []  # class -> its subfolder ("" itself) -> names
    for folder, names in source.listing.items():
        if folder != root and not folder.startswith(prefix):
            outside = posixpath.relpath(folder or ".", root)
            foreign += [f"{outside}/{n}" for n in names]
            continue
        head, _, sub = folder[len(prefix):].partition("/") if folder != root else ("", "", "")
        if head and not _hidden(head):
            by_class[head][sub] = names
        else:
            foreign += [f"{folder[len(prefix):]}/{n}" if head else n for n in names]
    names = sorted({d[len(prefix):].split("/")[0] for d in source.dirs if d.startswith(prefix)})
    problems, classes = [], []
    for label, name in enumerate(n for n in names if not _hidden(n)):
        try:
            classes.append(_scan_class(source, prefix, name, label, by_class[name]))
        except DatasetError as e:
            problems.append(str(e))
    if problems:
        raise DatasetError("invalid data layout:\n  " + "\n  ".join(problems))
    if not any(c.stems for c in classes):
        raise DatasetError(f"{source.path}: no RGB/LiDAR pairs found (pairs match by file stem)")
    return Layout(prefix, classes, sorted(foreign))


def scan(raw: str | Path) -> list[ClassFolder]:
    """The class folders of `data.raw` (see `scan_layout`)."""
    with open_source(raw) as source:
        return scan_layout(source).classes


def _scan_class(source: Source, prefix: str, name: str, label: int,
                subfolders: dict[str, list[str]]) -> ClassFolder:
    """One class folder; `subfolders` maps each folder inside it ("" itself) to its files."""
    folder, top = prefix + name, subfolders.get("", [])
    missing = [m for m in MODALITIES if f"{folder}/{m}" not in source.dirs]
    missing += [a for a in ANGLE_FILES if a not in top]
    if missing:
        raise DatasetError(f"{source.where(folder)}: missing {', '.join(missing)}")
    azimuth, zenith = (load_angles(source.where(f"{folder}/{a}"), _read(source, f"{folder}/{a}"))
                       for a in ANGLE_FILES)
    samples, copies = {m: {} for m in MODALITIES}, {m: {} for m in MODALITIES}
    nested, foreign = defaultdict(list), [f"{name}/{n}" for n in top if n not in ANGLE_FILES]
    for sub, names in sorted(subfolders.items()):
        modality, _, deeper = sub.partition("/")
        if modality in MODALITIES and sub and not deeper:
            suffix = MODALITIES[modality]
            for n in names:
                stem = n[: -len(suffix)]
                if not n.lower().endswith(suffix) or n.startswith("."):
                    foreign.append(f"{name}/{sub}/{n}")
                elif " (" in stem and COPY.fullmatch(stem):
                    copies[modality][stem] = f"{folder}/{sub}/{n}"
                else:
                    samples[modality][stem] = f"{folder}/{sub}/{n}"
        elif modality in MODALITIES and f"{deeper}/".startswith(f"{modality}/"):
            nested[modality] += [f"{name}/{sub}/{n}" for n in names]
        elif sub:
            foreign += [f"{name}/{sub}/{n}" for n in names]
    too_deep = [f"{source.where(f'{folder}/{m}')} holds no {MODALITIES[m]} files but "
                f"{m}/{m}/ inside it holds {len(nested[m])}: move them up one folder (unpack an "
                "archive for that)" for m in MODALITIES if nested[m] and not samples[m]]
    if too_deep:
        raise DatasetError("; ".join(too_deep))
    _check_angles(source, samples["lidar"], len(azimuth), len(zenith))
    rgb, lidar = samples["rgb"].keys(), samples["lidar"].keys()
    return ClassFolder(
        name=name, label=label, root=Path(source.where(folder)), azimuth=azimuth, zenith=zenith,
        stems=sorted(rgb & lidar), files=samples,
        unmatched_rgb=sorted(rgb - lidar), unmatched_lidar=sorted(lidar - rgb),
        duplicates=_compare_copies(source, name, samples, copies),
        nested={path: f"nested copy: {name}/{m}/{m}/ inside {name}/{m}/, which is read"
                for m, paths in nested.items() for path in paths},
        foreign=sorted(foreign),
    )


def _read(source: Source, name: str) -> bytes:
    try:
        return source.read(name)
    except OSError as e:
        raise DatasetError(f"{source.where(name)}: {e.strerror or e}") from None


def _compare_copies(source: Source, name: str, samples: dict, copies: dict) -> dict[str, str]:
    """path -> reason for each copy-named file: identical to its original, different, or an
    original that is missing (the copy is never read in its place)."""
    reasons = {}
    for modality, found in copies.items():
        for stem, member in found.items():
            path = f"{name}/{modality}/{posixpath.basename(member)}"
            original = samples[modality].get(COPY.fullmatch(stem).group(1))
            if original is None:
                reasons[path] = (f"duplicate name, but no original {COPY.fullmatch(stem).group(1)}"
                                 f"{MODALITIES[modality]}: not read in its place (rename it to "
                                 "use it)")
                continue
            original_path = f"{name}/{modality}/{posixpath.basename(original)}"
            if _read(source, member) == _read(source, original):
                reasons[path] = f"{IDENTICAL} {original_path}"
            else:
                reasons[path] = f"duplicate name: differs from {original_path}, which is read"
    return reasons


def _check_angles(source: Source, lidar: dict[str, str], rows: int, columns: int) -> None:
    """Compare the angle lengths with the shape of the class's first depth file."""
    for member in lidar.values():
        try:
            shape = np.load(io.BytesIO(source.read(member)), allow_pickle=False).shape
        except Exception:  # noqa: BLE001 - a corrupt file is reported by the decoding pass
            continue
        if shape != (rows, columns):
            raise DatasetError(
                f"{source.where(posixpath.dirname(posixpath.dirname(member)))}: depth maps do not "
                f"match the angle files: azimuth.npy has {rows} and zenith.npy {columns} angles, "
                f"{source.where(member)} has shape {shape}")
        return
