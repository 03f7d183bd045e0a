"""DVC stage `split`: prepared index -> data/splits.json (stratified, duplicates kept together)."""

import pandas as pd

from fusion import params
from fusion.data.splits import make_splits
from fusion.io import write_json

INDEX, OUT = "data/prepared/index.csv", "data/splits.json"


def main() -> None:
    p = params.load().split
    splits = make_splits(pd.read_csv(INDEX), p.val, p.test, p.seed)
    write_json(OUT, splits)
    print(f"split counts {splits['counts']}; duplicate groups {splits['duplicates']}")


if __name__ == "__main__":
    main()
