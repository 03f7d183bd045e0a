"""DVC stage `prepare`: the raw layout at ${data.raw} -> data/prepared/ (tensor cache + report)."""

from pathlib import Path

from fusion import params
from fusion.dataset import prepare

OUT = Path("data/prepared")


def main() -> None:
    p = params.load().data
    report = prepare(p.raw, OUT, p.image_size, p.max_range, p.skip_invalid)
    per_class = {name: c["pairs"] for name, c in report["classes"].items()}
    print(f"prepared {report['samples']} pairs {per_class} from {p.raw} at "
          f"{report['samples_per_second']:.0f} pairs/s; skipped {len(report['skipped'])}")


if __name__ == "__main__":
    main()
