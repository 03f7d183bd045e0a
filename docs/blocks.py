"""Writes the figures of README.md and docs/*.md from the outputs they come from, between
markers `<!-- name:start -->` and `<!-- name:end -->`, so that no figure there is typed by hand.

    uv run python docs/blocks.py          # rewrite every block from its output
    uv run python docs/blocks.py --check  # list the blocks that differ (tests/test_docs.py)

Each block is a function of the project root registered in BLOCKS; its text names the file
it comes from, and that file names its machine and command.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
BLOCKS: dict[str, Callable[[Path], str]] = {}
MARKED = re.compile(r"(<!-- (?P<name>[\w-]+):start -->\n)(?P<body>.*?)(<!-- (?P=name):end -->)",
                    re.S)


def block(name: str):
    def register(fn: Callable[[Path], str]) -> Callable[[Path], str]:
        BLOCKS[name] = fn
        return fn
    return register


@block("comparison")
def comparison(root: Path) -> str:
    return (root / "plots/comparison.md").read_text().strip()


@block("claims-simulation")
def claims_simulation(root: Path) -> str:
    """The seed-variance methods in the simulated families, at 4 and 8 seeds."""
    lines = ["| seeds | regime | method | family-wise error | lowest pair coverage (kind) | "
             "true better / run | true equivalent / run |", "|---:|---|---|---:|---|---:|---:|"]
    sources = []
    for seeds in (4, 8):
        path = f"benchmarks/results/claims_simulation_{seeds}seeds.txt"
        text = (root / path).read_text().splitlines()
        sources.append(f"`{path}` ({text[0].lstrip('# ')}; {text[1].lstrip('# ').split(',')[0]})")
        for row in text:
            cells = [c.strip() for c in row.strip("|").split("|")]
            if len(cells) == 6 and cells[0] not in ("regime", "---"):
                lowest = cells[3].split(";")[0] + (")" if "(" in cells[3] else "")
                lines.append(f"| {seeds} | {cells[0]} | {cells[1]} | {cells[2]} | {lowest} | "
                             f"{cells[4]} | {cells[5]} |")
    return "\n".join(lines) + "\n\nFrom " + " and ".join(sources) + "."


@block("default-run")
def default_run(root: Path) -> str:
    """The side-by-side default-run timings, with their machine."""
    path = "benchmarks/results/default_run.txt"
    text = (root / path).read_text().splitlines()
    table = [line for line in text if line.startswith("|")]
    return "\n".join([*table, "", f"From `{path}` ({text[0].lstrip('# ')})."])


@block("ece-coverage")
def ece_coverage(root: Path) -> str:
    path = "benchmarks/results/ece_coverage.txt"
    text = (root / path).read_text().splitlines()
    table = [line for line in text if line.startswith("|")]
    return "\n".join([*table, "", f"From `{path}` ({text[0].lstrip('# ')}; "
                                  f"{text[1].lstrip('# ').split(';')[0]})."])


@block("course-run")
def course_run(root: Path) -> str:
    """The kept `course` run: each strategy's test accuracy and robustness with their
    intervals and verdicts, and its seconds per epoch."""
    folder = "benchmarks/results/course_run"
    table = pd.read_csv(root / folder / "comparison.csv")

    def cell(r, m: str) -> str:
        return f"{100 * r[m]:.1f} [{100 * r[m + '_ci_low']:.1f}, {100 * r[m + '_ci_high']:.1f}]"

    lines = ["| strategy | seeds | test accuracy % | verdict | robustness camera % | verdict | "
             "robustness LiDAR % | verdict | s / epoch |",
             "|---|---:|---:|---|---:|---|---:|---|---:|"]
    for _, r in table.iterrows():
        verdicts = [r[f"tier_{m}"] if isinstance(r[f"tier_{m}"], str) else "–"
                    for m in ("test_accuracy", "robustness_rgb", "robustness_lidar")]
        lines.append(f"| {r['strategy']} | {r['seeds']} | {cell(r, 'test_accuracy')} | "
                     f"{verdicts[0]} | {cell(r, 'robustness_rgb')} | {verdicts[1]} | "
                     f"{cell(r, 'robustness_lidar')} | {verdicts[2]} | "
                     f"{r['seconds_per_epoch']:.1f} |")
    findings = [line for line in (root / folder / "comparison.md").read_text().splitlines()
                if line.startswith("- ")]
    took = (root / folder / "time.txt").read_text().strip()
    return "\n".join([*lines, "", f"From `{folder}/` (`comparison.csv`; {took}). Its findings "
                       "(`comparison.md`):", "", *findings])


@block("fault-cost")
def fault_cost(root: Path) -> str:
    """What the fault suite adds to the default run, with its machine."""
    path = "benchmarks/results/fault_cost.txt"
    text = (root / path).read_text().splitlines()
    table = [line for line in text if line.startswith("|")]
    return "\n".join(table) + (f"\n\nFrom `{path}` ({text[0].lstrip('# ')}; "
                               f"{text[1].lstrip('# ')}).")


@block("scenarios-under-faults")
def scenarios_under_faults(root: Path) -> str:
    """The default run (`course`) beside the kept `failures` run, under the fault suite."""
    import json

    runs = {"course": "metrics/summary.json",
            "failures": "benchmarks/results/failures_run/summary.json"}
    summary = {k: json.loads((root / path).read_text()) for k, path in runs.items()}
    lines = ["| strategy | test accuracy % (course / failures) | mRA % (course / failures) | "
             "mCE vs late (course / failures) | faults below its better sensor (course / "
             "failures) |", "|---|---:|---:|---:|---:|"]
    for name, s in summary["course"].items():
        f = summary["failures"][name]
        below = [str(x.get("faults_below_sensor", "–")) for x in (s, f)]
        lines.append(f"| {name} | {100 * s['test_accuracy']:.1f} / {100 * f['test_accuracy']:.1f}"
                     f" | {100 * s['mRA']:.1f} / {100 * f['mRA']:.1f} | {s['mCE']:.2f} / "
                     f"{f['mCE']:.2f} | {' / '.join(below)} |")
    return "\n".join(lines) + (f"\n\nFrom `{runs['course']}` (the default run) and "
                               f"`{runs['failures']}` (the same commit with "
                               "`-S synthetic.scenario=failures`; its params.yaml and "
                               "comparison.md beside it).")


@block("replication")
def replication(root: Path) -> str:
    """The totals of the replication benchmark over runs with other seeds: the family of claims
    and the fusion-against-its-better-sensor verdicts, each a table and its totals."""
    path = "benchmarks/results/replication_course_4seeds.txt"
    text = (root / path).read_text().splitlines()
    out = []
    for start in (i for i, line in enumerate(text) if line.startswith("| run |")):
        title = text[start - 2].rstrip(":")
        rows = [line for line in text[start + 2:start + 2 + 20] if line.startswith("| ")
                and not line.startswith("| metric")]
        end = next(i for i in range(start, len(text)) if text[i].endswith("):"))
        rows = [r for r in rows if text.index(r) < end]
        totals = [line for line in text[end + 1:end + 3] if line.startswith("- ")]
        out += [f"**{title[0].upper()}{title[1:]}**", "", *text[start:start + 2], *rows, "",
                text[end].replace(f" ({title})", ""), *totals, ""]
    return "\n".join(out) + f"\nFrom `{path}` ({text[0].lstrip('# ')})."


def render(text: str, root: Path = ROOT) -> str:
    """`text` with every registered block rewritten."""
    def fill(match: re.Match) -> str:
        name = match["name"]
        if name not in BLOCKS:
            raise KeyError(f"block {name!r}: no function in docs/blocks.py BLOCKS")
        return f"{match[1]}{BLOCKS[name](root)}\n{match[4]}"
    return MARKED.sub(fill, text)


def documents(root: Path = ROOT) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def stale(root: Path = ROOT) -> list[str]:
    """'file: block' for each block whose text differs from what its output gives now."""
    out = []
    for path in documents(root):
        text = path.read_text()
        now = {m["name"]: m["body"] for m in MARKED.finditer(render(text, root))}
        out += [f"{path.name}: {m['name']}" for m in MARKED.finditer(text)
                if m["body"] != now[m["name"]]]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="list stale blocks, change nothing")
    args = parser.parse_args()
    if args.check:
        found = stale()
        print("\n".join(found) or "every block is up to date")
        sys.exit(1 if found else 0)
    for path in documents():
        text = path.read_text()
        if render(text) != text:
            path.write_text(render(text))
            print(f"rewrote blocks in {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
