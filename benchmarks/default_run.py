"""The default run's wall time against an older commit's, side by side on this machine.

    uv run python benchmarks/default_run.py --baseline ef431eb \
        | tee benchmarks/results/default_run.txt

Clones `--baseline` into a temporary folder, installs its locked environment and times its
forced `dvc repro -f`; then times `dvc repro -f` here, in this working tree (so this tree's
outputs are the measured run's), a no-op `dvc repro` and `python -c pass`, each through
`uv run`. The ratio is what a budget is stated in: machines differ by 2x or more.
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
    parser.add_argument("--baseline", required=True, help="commit to compare against")
    args = parser.parse_args()
    here = Path(__file__).resolve().parents[1]
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, check=True,
                          capture_output=True, text=True).stdout.strip()
    print(describe())
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "baseline"
        subprocess.run(["git", "clone", "-q", str(here), str(old)], check=True)
        subprocess.run(["git", "checkout", "-q", args.baseline], cwd=old, check=True)
        subprocess.run(["uv", "sync", "--locked", "--compile-bytecode", "-q"], cwd=old,
                       check=True)
        baseline = timed(old, "uv", "run", "dvc", "repro", "-f")
    current = timed(here, "uv", "run", "dvc", "repro", "-f")
    noop = min(timed(here, "uv", "run", "dvc", "repro") for _ in range(3))
    start = min(timed(here, "uv", "run", "python", "-c", "pass") for _ in range(3))
    print(f"| run | wall s |\n|---|---:|\n| `dvc repro -f` at {args.baseline} | {baseline:.0f} |\n"
          f"| `dvc repro -f` at {head} (working tree) | {current:.0f} |\n"
          f"| ratio | {current / baseline:.2f} |\n| no-op `dvc repro`, best of 3 | {noop:.1f} |\n"
          f"| `uv run python -c pass`, best of 3 | {start:.2f} |")


if __name__ == "__main__":
    main()
