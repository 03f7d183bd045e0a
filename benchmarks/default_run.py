"""The default run's wall time against older commits', side by side on this machine.

    uv run python benchmarks/default_run.py --baseline ef431eb [COMMIT ...] \
        | tee benchmarks/results/default_run.txt

Clones each `--baseline` into a temporary folder, installs its locked environment and times
its forced `dvc repro -f`; then times `dvc repro -f` here, in this working tree (so this tree's
outputs are the measured run's), a no-op `dvc repro` and `python -c pass`, each through
`uv run`. Ratios are what a budget is stated in: machines differ by 2x or more.
"""

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

from machine import describe


def timed(cwd: Path, *command: str) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", required=True, nargs="+",
                        help="commits to compare against")
    args = parser.parse_args()
    here = Path(__file__).resolve().parents[1]
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, check=True,
                          capture_output=True, text=True).stdout.strip()
    print(describe())
    baselines = {}
    for commit in args.baseline:
        with tempfile.TemporaryDirectory() as tmp:
            old = Path(tmp) / "baseline"
            subprocess.run(["git", "clone", "-q", str(here), str(old)], check=True)
            subprocess.run(["git", "checkout", "-q", commit], cwd=old, check=True)
            subprocess.run(["uv", "sync", "--locked", "--compile-bytecode", "-q"], cwd=old,
                           check=True)
            baselines[commit] = timed(old, "uv", "run", "dvc", "repro", "-f")
    current = timed(here, "uv", "run", "dvc", "repro", "-f")
    noop = min(timed(here, "uv", "run", "dvc", "repro") for _ in range(3))
    start = min(timed(here, "uv", "run", "python", "-c", "pass") for _ in range(3))
    rows = [f"| `dvc repro -f` at {c} | {t:.0f} | {current / t:.2f} |"
            for c, t in baselines.items()]
    print("| run | wall s | working tree / run |\n|---|---:|---:|\n" + "\n".join(rows)
          + f"\n| `dvc repro -f` at {head} (working tree) | {current:.0f} | |\n"
          f"| no-op `dvc repro`, best of 3 | {noop:.1f} | |\n"
          f"| `uv run python -c pass`, best of 3 | {start:.2f} | |")


if __name__ == "__main__":
    main()
