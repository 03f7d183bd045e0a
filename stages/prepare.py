"""DVC stage `prepare`: ${data.raw} (a folder or an archive) -> data/prepared/ (tensors + report).

The timings go to metrics/prepare.json (not cached), so that the cached output depends on the
inputs alone: a re-run on the same data writes the same bytes and re-runs nothing downstream.
"""

import time
from pathlib import Path

from fusion import params
from fusion.data.dataset import prepare
from fusion.io import write_json

OUT = Path("data/prepared")
METRICS = Path("metrics/prepare.json")


def main() -> None:
    p = params.load().data
    start = time.perf_counter()
    report = prepare(p.raw, OUT, p.image_size, p.max_range, p.skip_invalid)
    seconds = time.perf_counter() - start
    pairs = {name: c["pairs"] for name, c in report["classes"].items()}
    write_json(METRICS, {"prepare": {  # one prefix for its `dvc exp show` columns
        "samples": report["samples"],
        "pairs": pairs,
        "skipped": len(report["skipped"]),
        "seconds": round(seconds, 3),
        "samples_per_second": round(report["samples"] / seconds, 1),
        "step_seconds": {step: round(s, 3) for step, s in report["seconds"].items()},
    }})
    for line in report["warnings"]:
        print(f"warning: {line}")
    print(f"prepared {report['samples']} pairs {pairs} from {p.raw} in {seconds:.1f} s "
          f"({report['samples'] / seconds:.0f} pairs/s); {len(report['skipped'])} file(s) not "
          f"read, each listed with its reason under `skipped` in {OUT / 'report.json'}")


if __name__ == "__main__":
    main()
