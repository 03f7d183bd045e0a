"""Writes the figures of README.md and docs/*.md from the outputs they come from, between
markers `<!-- name:start -->` and `<!-- name:end -->`, so that no figure there is typed by hand.

    uv run python docs/blocks.py          # rewrite every block from its output
    uv run python docs/blocks.py --check  # list the blocks that differ (tests/test_docs.py)

Each block is a function of the project root registered in BLOCKS; its text names the file
it comes from, and that file names its machine and command.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from fusion import params

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


@block("comparison-source")
def comparison_source(root: Path) -> str:
    return f"From `plots/comparison.md` ({_default_run(root)})."


def _simulation_table(root: Path, header: str, part: int) -> str:
    """One table of benchmarks/claims_simulation.py's kept outputs at 4 and 8 seeds (part 0:
    the methods; 1: the collapse-prone regime split by the drawn collapses), a row per seeds
    and row there, its coverage cell cut to the lowest kind."""
    lines, sources = [header], []
    for seeds in (4, 8):
        path = f"benchmarks/results/claims_simulation_{seeds}seeds.txt"
        text = (root / path).read_text()
        head = text.splitlines()
        sources.append(f"`{path}` ({head[0].lstrip('# ')}; {head[1].lstrip('# ').split(',')[0]})")
        table = text.split("\n## collapse-prone")[part]
        for row in [r for r in table.splitlines() if r.startswith("|")][2:]:
            cells = [c.strip() for c in row.strip("|").split("|")]
            cells = [c.split(";")[0] + ")" if "; " in c else c for c in cells]
            lines.append("| " + " | ".join([str(seeds), *cells]) + " |")
    return "\n".join(lines) + "\n\nFrom " + " and ".join(sources) + "."


@block("claims-simulation")
def claims_simulation(root: Path) -> str:
    """The seed-variance methods in the simulated families, at 4 and 8 seeds."""
    return _simulation_table(root, "| seeds | regime | method | family-wise error | lowest pair "
                             "coverage (kind) | true better / run | true equivalent / run |\n"
                             "|---:|---|---|---:|---|---:|---:|", 0)


@block("claims-simulation-collapses")
def claims_simulation_collapses(root: Path) -> str:
    """The collapse-prone regime split by whether the seeds drew every collapse, with the
    floor that no method of the same power goes below."""
    return _simulation_table(root, "| seeds | method | every collapse drawn | runs | family-wise "
                             "error | lowest pair coverage (kind) | floor |\n"
                             "|---:|---|---|---:|---:|---|---:|", 1)


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


def _percent(row, metric: str, scale: float = 100, digits: int = 1) -> str:
    """A metric's mean [interval] from a comparison.csv row, scaled (default: percent)."""
    low, high = row[f"{metric}_ci_low"], row[f"{metric}_ci_high"]
    return f"{scale * row[metric]:.{digits}f} [{scale * low:.{digits}f}, {scale * high:.{digits}f}]"


@block("course-run")
def course_run(root: Path) -> str:
    """The kept `course` run: each strategy's test accuracy and robustness with their
    intervals and verdicts, and its seconds per epoch."""
    folder = "benchmarks/results/course_run"
    table = pd.read_csv(root / folder / "comparison.csv")

    lines = ["| strategy | seeds | test accuracy % | verdict | robustness camera % | verdict | "
             "robustness LiDAR % | verdict | s / epoch |",
             "|---|---:|---:|---|---:|---|---:|---|---:|"]
    for _, r in table.iterrows():
        verdicts = [r[f"tier_{m}"] if isinstance(r[f"tier_{m}"], str) else "–"
                    for m in ("test_accuracy", "robustness_rgb", "robustness_lidar")]
        lines.append(f"| {r['strategy']} | {r['seeds']} | {_percent(r, 'test_accuracy')} | "
                     f"{verdicts[0]} | {_percent(r, 'robustness_rgb')} | {verdicts[1]} | "
                     f"{_percent(r, 'robustness_lidar')} | {verdicts[2]} | "
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
    return "\n".join(lines) + (f"\n\nFrom `{runs['course']}` (the default run: "
                               f"{_default_run(root)}) and "
                               f"`{runs['failures']}` (`uv run dvc exp run -S "
                               "synthetic.scenario=failures`, kept in commit 29617ca on the same "
                               "machine; the default run's predictions are unchanged since; its "
                               "params.yaml and comparison.md beside it).")


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


@block("coverage")
def coverage(root: Path) -> str:
    """Coverage of each strategy's 95% interval in simulated experiments, per seed count."""
    out = []
    for path in ("benchmarks/results/coverage.txt", "benchmarks/results/coverage_4seeds.txt"):
        text = (root / path).read_text().splitlines()
        start = text.index("as implemented (seed x sample variance counted twice)")
        table = [line for line in text[start + 1:] if line.startswith("|")]
        table = table[:next(i for i, line in enumerate(table[2:], 2) if "---" in line) - 1] \
            if sum("---" in line for line in table) > 1 else table
        out += [*table, "", f"From `{path}` ({text[0].lstrip('# ')}; "
                            f"{text[1].lstrip('# ').split(';')[0]}).", ""]
    return "\n".join(out).rstrip()


@block("calibration")
def calibration(root: Path) -> str:
    """The `course` scenario's figures beside the real set's, with their sources."""
    path = "benchmarks/results/calibration.txt"
    text = (root / path).read_text().splitlines()
    run = next(line for line in text if line.startswith("scenario "))
    table = [line for line in text if line.startswith("|")]
    sources = next(line for line in text if line.startswith("Sources: "))
    return "\n".join([*table, "", sources, "", f"From `{path}` (`uv run python "
                      f"benchmarks/calibration.py`; {run.split(' (')[0]})."])


def _verbatim(root: Path, path: str, start: str) -> str:
    """Lines of a kept output from the first that starts with `start`, as printed, in a code
    block, with the output's first line (its date and machine)."""
    text = (root / path).read_text().splitlines()
    first = next(i for i, line in enumerate(text) if line.startswith(start))
    end = next((i for i in range(first, len(text)) if not text[i].strip()), len(text))
    body = [line.rstrip() for line in text[first:end]]
    return "\n".join(["```", *body, "```", "", f"From `{path}` ({text[0].lstrip('# ')})."])


@block("prepare-speed")
def prepare_speed(root: Path) -> str:
    return _verbatim(root, "benchmarks/results/prepare_speed.txt", "samples/s (wall)")


@block("train-speed")
def train_speed(root: Path) -> str:
    return _verbatim(root, "benchmarks/results/train_speed_cpu_24x24.txt", "strategy ")


def _default_run(root: Path) -> str:
    """Where the kept default run comes from: its command, commit and machine, and the later
    run of its comparison stages alone."""
    def header(path: str) -> str:  # "# <date>, <machine>; `dvc repro` at <commit> ..."
        return (root / path).read_text().splitlines()[0].lstrip("# ")

    path = "benchmarks/results/default_run_output.txt"
    rerun = "benchmarks/results/aggregate_rerun.txt"  # a later run of aggregate and export only
    machine = header(path).split(";")[0].split(", ", 1)[1]
    commit, at = (header(p).split(" at ")[1].split()[0] for p in (path, rerun))
    return (f"`uv run dvc repro` at {commit} on an {machine}; `{path}`; aggregate and export "
            f"re-run at {at} on its predictions, `{rerun}`")


@block("resolve")
def resolve(root: Path) -> str:
    """What the default run can resolve: its findings' lines on the detectable difference in
    test accuracy and on the seeds and test samples a given difference needs."""
    findings = (root / "plots/comparison.md").read_text().splitlines()
    lines = [f[2:] for f in findings
             if f.startswith(("- Detectable in test accuracy", "- To detect with"))]
    run = params.load(root / "params.yaml")
    return "\n\n".join([*lines, f"This run has {len(run.train.seeds)} seeds and "
                                 f"{int(run.split.test):,} test samples. From "
                                 f"`plots/comparison.md` ({_default_run(root)})."])


@block("headline")
def headline(root: Path) -> str:
    """The default run in one table and three sentences, each sentence from verdicts or
    intervals, never from a ranking of means."""
    table = pd.read_csv(root / "plots/comparison.csv")
    summary = json.loads((root / "metrics/summary.json").read_text())
    claims = pd.read_csv(root / "plots/comparison/claims.csv")
    floor = pd.read_csv(root / "plots/comparison/sensor_floor.csv")
    lines = ["| strategy | clean accuracy % | verdict | mRA % | mCE | faults below its better "
             "sensor | FLOPs | params |", "|---|---:|---|---:|---:|---:|---:|---:|"]
    for _, r in table.iterrows():
        below = summary[r["strategy"]].get("faults_below_sensor", "–")
        lines.append(f"| {r['strategy']} | {_percent(r, 'test_accuracy')} | "
                     f"{r['tier_test_accuracy']} | {_percent(r, 'mRA')} | "
                     f"{_percent(r, 'mCE', 1, 2)} | {below} | {r['flops'] / 1e6:.1f}M | "
                     f"{r['params']:,} |")
    fusion = sorted(set(floor["strategy"]))
    pairs = claims[(claims["metric"] == "test_accuracy") & claims["a"].isin(fusion)
                   & claims["b"].isin(fusion)]
    delta = 100 * pairs["delta"].iloc[0]
    equivalent = (pairs["verdict"] == "equivalent").sum()
    clean = (f"On clean test data, {equivalent} of the {len(pairs)} pairs of the {len(fusion)} "
             f"fusion strategies are equivalent in accuracy within +-{delta:.1f} points and "
             f"{(pairs['verdict'] == 'better').sum()} differ")
    if equivalent == len(pairs):
        widest = 100 * pairs[["ci_low", "ci_high"]].abs().to_numpy().max()
        clean = (f"On clean test data all {len(fusion)} fusion strategies are equivalent in "
                 f"accuracy within +-{delta:.1f} points (every one of the {len(pairs)} pairs; "
                 f"the widest simultaneous interval reaches {widest:.1f} points): the clean "
                 "comparison is at the ceiling and says nothing about which to use")
    counts = floor["verdict"].value_counts()
    faults = (f"Under the fault suite ({floor['fault'].nunique()} faults of the camera, the LiDAR "
              f"and their alignment), a fusion strategy is below its better single sensor in "
              f"{counts.get('below', 0)} of {len(floor)} (fault, strategy) comparisons and above "
              f"it in {counts.get('above', 0)}")
    mce = table.set_index("strategy")
    fewer = [n for n in mce.index if mce.loc[n, "mCE_ci_high"] < 1]
    more = [n for n in mce.index if mce.loc[n, "mCE_ci_low"] > 1]
    errors = (f"Fewer errors under faults than the reference (mCE interval wholly below 1): "
              f"{', '.join(fewer) or 'none'}; more (wholly above 1): {', '.join(more) or 'none'};"
              " the others are not told apart from it")
    return "\n".join([*lines, "", f"{clean}. {faults}. {errors}.", "",
                      "From `plots/comparison.csv`, `metrics/summary.json`, "
                      "`plots/comparison/claims.csv` and `sensor_floor.csv` of the default run "
                      f"({_default_run(root)}; intervals 95%, verdicts simultaneous over the "
                      "family, [docs/statistics.md](docs/statistics.md))."])


@block("recommendation")
def recommendation(root: Path) -> str:
    """The rule's pick per need, from the default run."""
    picks = pd.read_csv(root / "plots/comparison/recommendation.csv").fillna("")
    lines = ["| need | use | as good by the rule, at more cost | FLOPs | params |",
             "|---|---|---|---:|---:|"]
    for _, r in picks.iterrows():
        others = [n for n in r["candidates"].split() if n != r["use"]]
        cost = (f"{r['flops'] / 1e6:.1f}M | {int(r['params']):,}" if r["use"] else "– | –")
        lines.append(f"| {r['need']} | **{r['use'] or 'none'}** | {', '.join(others) or '–'} "
                     f"| {cost} |")
    return "\n".join(lines) + ("\n\nFrom `plots/comparison/recommendation.csv` of the default "
                               f"run ({_default_run(root)}).")


@block("quickstart")
def quickstart(root: Path) -> str:
    """The default run's measured time, and the first and last lines it prints."""
    timing = "benchmarks/results/default_run.txt"
    text = (root / timing).read_text().splitlines()
    row = next(line for line in text if "(working tree)" in line)
    seconds = float(row.split("|")[2])
    commit = row.split(" at ")[1].split()[0]
    output = "benchmarks/results/default_run_output.txt"
    log = (root / output).read_text().splitlines()
    head = [line for line in log[1:] if line and not line.startswith(("Updating", "..."))][:5]
    tail = [line for line in log if line.startswith("promoted ")]
    machine = text[0].lstrip("# ").split(",")[1].strip()
    return "\n".join([
        f"The whole default run took {seconds / 60:.1f} min on an {machine} with 2 CPUs and no "
        f"GPU (`{timing}`: `dvc repro -f` at {commit}). It prints, first:",
        "", "```", *head, "...", *tail, "```", "",
        f"(`{output}`: {log[0].lstrip('# ')}.)"])


@block("real-data-time")
def real_data_time(root: Path) -> str:
    """The kept run from a download-shaped archive: its time per phase, and today's estimate."""
    from datetime import datetime

    path = "benchmarks/results/course_archive_19998/stage_times.txt"
    text = (root / path).read_text().splitlines()
    times = [(datetime.strptime(line[:8], "%H:%M:%S"), line[9:]) for line in text[1:]]
    minutes = {}
    for (start, line), (end, _) in zip(times, times[1:], strict=False):
        phase = line.split("'")[1].split("@")[0] if "'" in line else line
        minutes[phase] = minutes.get(phase, 0) + (end - start).seconds / 60
    total = (times[-1][0] - times[0][0]).seconds / 60
    fitted = minutes["train"] + minutes["evaluate"]
    commit, machine = text[0].lstrip("# ").split(";")[0].split(", ", 1)
    return (f"Measured: {total:.1f} min for the whole pipeline ({minutes['train']:.1f} training, "
            f"{minutes['evaluate']:.1f} evaluation) on an {machine}, at commit {commit}, "
            f"with the settings of then: 3 seeds (`{path}`, its params.yaml beside it). "
            f"Estimate for today's 4 seeds, not measured: training and evaluation scale with "
            f"the seeds, {total:.1f} + {fitted:.1f} x (4/3 - 1) = "
            f"{total + fitted / 3:.0f} min.")


def render(text: str, root: Path = ROOT) -> str:
    """`text` with every registered block rewritten."""
    def fill(match: re.Match) -> str:
        name = match["name"]
        if name not in BLOCKS:
            raise KeyError(f"block {name!r}: no function in docs/blocks.py BLOCKS")
        return f"{match[1]}{BLOCKS[name](root)}\n{match[4]}"
    return MARKED.sub(fill, text)


def documents(root: Path = ROOT) -> list[Path]:
    return [p for p in (root / "README.md", root / "CONTRIBUTING.md") if p.is_file()] + sorted(
        (root / "docs").glob("*.md"))


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
