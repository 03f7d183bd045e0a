"""DVC stage `generate`: params `synthetic` -> data/raw/synthetic/ in the assessment layout."""

from pathlib import Path

from fusion import params
from fusion.synthetic import generate

OUT = Path(params.SYNTHETIC_RAW)


def main() -> None:
    synthetic = params.load().synthetic
    summary = generate(synthetic, OUT)
    print(f"generated {summary['cubes']} cubes and {summary['spheres']} spheres of scenario "
          f"{synthetic.scenario} in {OUT} ({summary['seconds']} s, "
          f"{summary['samples_per_s']} samples/s)")


if __name__ == "__main__":
    main()
