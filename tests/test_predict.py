"""The predict command: a folder in the course layout, or one sample, through an exported model."""

import dataclasses

import numpy as np
from test_dataset import write_class

from fusion.dataset import load_raw
from fusion.params import ModelParams, StrategyConfig, TrainParams
from fusion.predict import main
from fusion.stats import compute_stats
from fusion.training import save_checkpoint, train


def test_predict_a_folder_and_a_single_sample_agree(tmp_path, capsys):
    root = tmp_path / "raw"
    write_class(root, "cubes", [f"{i:04d}" for i in range(6)], np.random.default_rng(0))
    write_class(root, "spheres", [f"{i:04d}" for i in range(6)], np.random.default_rng(1))
    data, _ = load_raw(root, 8, progress=False)
    rows = list(range(len(data.labels)))
    stats = compute_stats(data.rgb, data.xyza, np.array(rows))
    cfg = StrategyConfig("add", "add", ModelParams(fusion="add", feature_dim=4),
                         dataclasses.replace(TrainParams(), epochs=1, device="cpu"))
    result = train(cfg, data, {"train": rows, "val": rows}, stats, progress=False)
    save_checkpoint(tmp_path / "model.pt", result, cfg, data, stats, max_range=50.0)

    main(["--model", str(tmp_path / "model.pt"), "--folder", str(root)])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 13 and lines[-1].startswith("accuracy ")
    by_id = {line.split("\t")[0]: line.split("\t")[1:] for line in lines[:-1]}
    assert set(by_id) == set(data.index["id"])
    assert all(name in ("cubes", "spheres") and 0.5 <= float(p) <= 1 for name, p in by_id.values())

    folder = root / "spheres"
    main(["--model", str(tmp_path / "model.pt"), "--rgb", str(folder / "rgb" / "0003.png"),
          "--depth", str(folder / "lidar" / "0003.npy"), "--azimuth", str(folder / "azimuth.npy"),
          "--zenith", str(folder / "zenith.npy")])
    (single,) = capsys.readouterr().out.strip().splitlines()
    name, prob = single.split("\t")[1:]
    assert name == by_id["spheres/0003"][0]
    assert float(prob) == float(by_id["spheres/0003"][1])
