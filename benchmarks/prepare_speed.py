"""Benchmark `prepare` at the course's size: the stage function, and the whole `dvc repro`.

    uv run python benchmarks/prepare_speed.py [--samples 19998] [--scenario course]
        [--inputs folder,zip] [--sizes 64,24] [--cache-type hardlink,symlink]

Renders a synthetic data set in the course layout (64x64, half cubes, half spheres; by default
the `course` scenario, whose mostly black PNGs are like the real set's, while `failures` puts
sensor noise on every pixel and its PNGs take ~2x longer to inflate) into a temporary
`download/assessment/`, and packs it as the download comes (`archive.zip`, deflated,
members under `assessment/`; also `.tar` or `.tar.gz` if asked). Then for each `data.raw`
of `--inputs` (the unpacked folder, or an archive), prepared at 64x64 and at the default size
(24x24), times
(a) `fusion.data.dataset.prepare` alone, split into its scan, decode, convert and write steps;
(b) `dvc repro -s prepare` in a temporary git + DVC repo holding a copy of the project and the
    data: a first run (DVC's state cold: it hashes the input), a forced re-run (`-f`, DVC's
    state warm) and a no-op run, split into the steps of the stage (from metrics/prepare.json)
    and of DVC (its functions, timed inside the DVC process). `--cache-type` overrides
    .dvc/config's.
Also prints the CPU time of all the processes: on a busy machine the wall-clock times grow with
the load average (printed before and after), the CPU times much less. Ends with one table of
samples/s, every input and run side by side.
"""

import argparse
import dataclasses
import functools
import json
import os
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path

import yaml
from machine import describe

PROJECT = Path(__file__).resolve().parents[1]
COPIED = ["fusion", "stages", "dvc.yaml", "params.yaml", ".dvcignore", ".gitignore"]
RUNS = {"first run": [], "forced re-run": ["-f"], "no-op run": []}
# DVC functions timed inside its process: (module, class or None, function, step).
DVC_STEPS = [
    ("dvc.stage", "Stage", "changed", "dvc: compare with dvc.lock (hashes)"),
    ("dvc.stage", "Stage", "remove_outs", "dvc: remove old outputs"),
    ("dvc.stage", "Stage", "save_deps", "dvc: hash inputs"),
    ("dvc.stage", "Stage", "save_outs", "dvc: hash outputs"),
    ("dvc.stage.cache", "StageCache", "save", "dvc: run cache"),
    ("dvc.stage", "Stage", "commit", "dvc: cache outputs"),
    ("dvc.stage.run", None, "cmd_run", "stage process"),
]


def timed_dvc(out: str, argv: list[str]) -> int:
    """Run `dvc argv` in this process; write the seconds spent in each of DVC_STEPS to `out`."""
    import importlib

    from dvc.cli import main as dvc_main

    spent = Counter()

    def timer(function, step):
        @functools.wraps(function)
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[step] += time.perf_counter() - start

        return timed

    for module, owner, name, step in DVC_STEPS:
        target = importlib.import_module(module)
        target = getattr(target, owner) if owner else target
        setattr(target, name, timer(getattr(target, name), step))
    code = dvc_main(argv)
    Path(out).write_text(json.dumps(spent))
    return code


def cpu_seconds() -> float:
    """User + system CPU time of this process and of its finished children."""
    own, children = (resource.getrusage(who) for who in
                     (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run(cwd: Path, env: dict, *args: str) -> None:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode:
        sys.exit(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")


def stage_function(raw: Path, out: Path, size: int) -> dict[str, float]:
    """(a): seconds per step of `prepare` called in this process."""
    from fusion.data.dataset import prepare

    start, cpu = time.perf_counter(), cpu_seconds()
    report = prepare(raw, out, size, progress=False)
    steps = {f"stage: {step}": s for step, s in report["seconds"].items()}
    total = time.perf_counter() - start
    shutil.rmtree(out)
    return {**steps, "total": total, "cpu": cpu_seconds() - cpu}


def pack(folder: Path, archive: Path) -> Path:
    """`archive` (.zip deflated, .tar or .tar.gz) holding `folder` under its own name."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    if archive.suffix == ".zip":
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
            for path in files:
                z.write(path, path.relative_to(folder.parent).as_posix())
    else:
        with tarfile.open(archive, "w:gz" if archive.suffix == ".gz" else "w") as t:
            t.add(folder, folder.name)
    return archive


def dvc_repro(raw: Path, repo: Path, size: int, cache_type: str | None) -> dict[str, dict]:
    """(b): seconds per step of each of RUNS in a fresh repo; `raw` is moved in and back."""
    for name in COPIED:
        src = PROJECT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, repo / name)
    data = repo / "data" / "raw" / raw.name
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["data"].update(raw=data.relative_to(repo).as_posix(), image_size=size)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = {**os.environ, "DVC_NO_ANALYTICS": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    run(repo, env, "git", "init", "-q")
    run(repo, env, sys.executable, "-m", "dvc", "init", "-q")
    shutil.copy(PROJECT / ".dvc" / "config", repo / ".dvc" / "config")
    settings = [["core.site_cache_dir", str(repo / ".dvc" / "site")]]  # its state db, in here
    if cache_type:
        settings.append(["cache.type", cache_type])
    for setting in settings:
        run(repo, env, sys.executable, "-m", "dvc", "config", *setting)
    data.parent.mkdir(parents=True)
    raw.rename(data)
    times = {}
    try:
        for name, flags in RUNS.items():
            start, cpu = time.perf_counter(), cpu_seconds()
            run(repo, env, sys.executable, __file__, "--timed-dvc", str(repo / "steps.json"),
                "repro", *flags, "-s", "prepare")
            total = time.perf_counter() - start
            steps = json.loads((repo / "steps.json").read_text())
            steps["dvc: start, dvc.yaml, dvc.lock"] = total - sum(steps.values())
            if "stage process" in steps:
                process = steps.pop("stage process")
                stage = json.loads((repo / "metrics" / "prepare.json").read_text())["prepare"]
                steps |= {f"stage: {step}": s for step, s in stage["step_seconds"].items()}
                steps["stage: python start, imports"] = process - stage["seconds"]
            times[name] = {**steps, "total": total, "cpu": cpu_seconds() - cpu}
    finally:
        data.rename(raw)
    return times


def show(title: str, samples: int, columns: dict[str, dict[str, float]]) -> None:
    """Print one column of seconds per run, one row per step, then the wall-clock total, the
    CPU time of all processes (user + system) and samples/s."""
    steps = list(dict.fromkeys(s for col in columns.values() for s in col))
    steps = sorted(set(steps) - {"total", "cpu"}, key=lambda s: (s.startswith("dvc"), s))
    print(f"\n{title}\n{'seconds':<36}" + "".join(f"{c:>16}" for c in columns))
    for step in [*steps, "total", "cpu"]:
        print(f"{step:<36}" + "".join(f"{col.get(step, 0):>16.2f}" for col in columns.values()))
    print(f"{'samples/s':<36}" + "".join(
        f"{samples / col['total']:>16.0f}" for col in columns.values()))


def summary(samples: int, tables: dict[str, dict[str, dict]]) -> None:
    """samples/s of every run (column) for every input and size (row), side by side."""
    runs = list(next(iter(tables.values())))
    print(f"\nsamples/s (wall){'':<20}" + "".join(f"{r:>16}" for r in runs))
    for title, columns in tables.items():
        print(f"{title:<36}" + "".join(f"{samples / columns[r]['total']:>16.0f}" for r in runs))


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    if sys.argv[1:2] == ["--timed-dvc"]:  # the DVC process of (b)
        sys.exit(timed_dvc(sys.argv[2], sys.argv[3:]))
    # Imported here, not at the top: the DVC process of (b) runs this file too.
    from fusion.params import Counts, DataParams, synthetic_params
    from fusion.synthetic import generate

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=19_998)
    parser.add_argument("--scenario", default="course", help="the synthetic scenario rendered")
    parser.add_argument("--inputs", default="folder,zip",
                        help="comma-separated data.raw kinds: folder, zip, tar, tar.gz")
    parser.add_argument("--sizes", default=f"64,{DataParams().image_size}",
                        help="comma-separated data.image_size values")
    parser.add_argument("--cache-type", help="DVC's cache.type (default: from .dvc/config)")
    args = parser.parse_args()
    print(describe())
    half = args.samples // 2
    synthetic = dataclasses.replace(synthetic_params({"scenario": args.scenario}), image_size=64,
                                    counts=Counts(cubes=half, spheres=args.samples - half))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "download" / "assessment"
        generated = generate(synthetic, folder, progress=False)
        print(f"generated {args.samples} samples of scenario {args.scenario} at 64x64 "
              f"({generated['samples_per_s']:.0f} "
              f"samples/s); DVC cache.type {args.cache_type or 'from .dvc/config'}; "
              f"{os.cpu_count()} CPUs, {load()}")
        raws = {}
        for kind in args.inputs.split(","):
            start = time.perf_counter()
            raws[kind] = folder if kind == "folder" else pack(folder, folder.parent /
                                                              f"archive.{kind}")
            if kind != "folder":
                print(f"packed {raws[kind].name}: {raws[kind].stat().st_size / 1e6:.0f} MB in "
                      f"{time.perf_counter() - start:.1f} s")
        tables = {}
        for size in map(int, args.sizes.split(",")):
            for kind, raw in raws.items():
                repo = Path(tmp) / "repo"
                repo.mkdir()
                columns = {"function": stage_function(raw, Path(tmp) / "out", size),
                           **dvc_repro(raw, repo, size, args.cache_type)}
                shutil.rmtree(repo)
                title = f"prepare {kind} -> {size}x{size}"
                show(title, args.samples, columns)
                tables[title] = columns
        summary(args.samples, tables)
        print(load())


if __name__ == "__main__":
    main()
