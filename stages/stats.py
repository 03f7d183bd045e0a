"""DVC stage `stats`: per-channel mean/std of the train split -> data/stats.json."""

from fusion import params
from fusion.data.prepared import load_prepared
from fusion.data.stats import compute_stats
from fusion.io import read_json, write_json

PREPARED, SPLITS, OUT = "data/prepared", "data/splits.json", "data/stats.json"


def main() -> None:
    params.load()  # validate before work
    data = load_prepared(PREPARED, mmap=True)
    stats = compute_stats(data.rgb, data.xyza, read_json(SPLITS, "splits")["train"])
    write_json(OUT, stats)
    print(f"stats over {stats['train_samples']} train samples")


if __name__ == "__main__":
    main()
