"""The predict command: a folder in the course layout streamed in batches, or one sample."""


import numpy as np
import pandas as pd
import pytest
import torch
from test_dataset import MAX_RANGE, SIZE, write_class

from fusion import predict, strategies
from fusion.data.dataset import load_raw, prepare, scan
from fusion.data.normalize import Normalizer
from fusion.data.prepared import load_prepared
from fusion.data.stats import compute_stats
from fusion.evaluation.robustness import FaultedInputs, evaluate_model
from fusion.faults.rig import ALIGNED
from fusion.models.checkpoint import load_checkpoint, save_checkpoint
from fusion.params import EvaluateParams, ModelParams, StrategyConfig, TrainParams

CLASSES = ["cubes", "spheres"]


def write_folder(root, n: int = 6):
    for seed, name in enumerate(CLASSES):
        write_class(root, name, [f"{i:04d}" for i in range(n)], np.random.default_rng(seed))
    return root


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    """A checkpoint of an untrained model (predict needs no good weights) with real stats."""
    tmp = tmp_path_factory.mktemp("model")
    data, _ = load_raw(write_folder(tmp / "raw"), SIZE, progress=False)
    stats = compute_stats(data.rgb, data.xyza, np.arange(len(data.labels)))
    cfg = StrategyConfig("add", "add", ModelParams(fusion="add", feature_dim=4), TrainParams())
    torch.manual_seed(0)
    model = strategies.build(cfg.fusion, cfg.model, SIZE)
    save_checkpoint(tmp / "model.pt", model, cfg, data, stats, MAX_RANGE)
    return tmp / "model.pt"


def run(model_path, capsys, *args) -> tuple[list[str], str]:
    predict.main(["--model", str(model_path), "--device", "cpu", *map(str, args)])
    out, err = capsys.readouterr()
    return out.strip().splitlines(), err


def test_predict_a_folder_and_a_single_sample_agree(tmp_path, capsys, model_path):
    root = write_folder(tmp_path / "raw")
    lines, err = run(model_path, capsys, "--folder", root)
    assert len(lines) == 13 and lines[-1] == f"accuracy {lines[-1].split()[1]} over 12 samples"
    by_id = {line.split("\t")[0]: line.split("\t")[1:] for line in lines[:-1]}
    assert set(by_id) == {f"{c}/{i:04d}" for c in CLASSES for i in range(6)}
    assert all(name in CLASSES and 0.5 <= float(p) <= 1 for name, p in by_id.values())
    assert err == "skipped 0 file(s); classified 12 samples\n"

    folder = root / "spheres"
    (single,), err = run(model_path, capsys, "--rgb", folder / "rgb" / "0003.png",
                         "--depth", folder / "lidar" / "0003.npy", "--azimuth",
                         folder / "azimuth.npy", "--zenith", folder / "zenith.npy",
                         "--output", tmp_path / "one.csv")
    assert single.split("\t") == ["0003", *by_id["spheres/0003"]] and err == ""
    table = pd.read_csv(tmp_path / "one.csv", dtype=str, keep_default_na=False)
    assert table[["id", "class", "predicted"]].values.tolist() == [
        ["0003", "", by_id["spheres/0003"][0]]]


def test_a_folder_gets_the_probabilities_of_evaluation_and_the_accuracy_of_its_csv(
        tmp_path, capsys, model_path):
    """Raw files through predict = the prepared cache through evaluation (stats normalisation,
    model); the printed accuracy is the CSV's, over the classified samples only."""
    root = write_folder(tmp_path / "raw")
    for stem in ("0004", "0005"):  # unmatched RGB: skipped, and the classes imbalanced
        (root / "spheres" / "lidar" / f"{stem}.npy").unlink()
    lines, err = run(model_path, capsys, "--folder", root, "--output", tmp_path / "p.csv")
    table = pd.read_csv(tmp_path / "p.csv").set_index("id")

    prepare(root, tmp_path / "prepared", SIZE, MAX_RANGE, progress=False)
    data = load_prepared(tmp_path / "prepared")
    model, checkpoint = load_checkpoint(model_path)
    rows = list(range(len(data.labels)))
    rgb, xyza = torch.from_numpy(data.rgb), torch.from_numpy(data.xyza)
    faulted = FaultedInputs.build(rgb, xyza, 0, checkpoint["max_range"], ALIGNED)
    evaluated = evaluate_model(
        model, rgb, xyza, torch.from_numpy(data.labels), rows, data.classes, faulted,
        Normalizer(checkpoint["stats"]), EvaluateParams(), "cpu").predictions
    evaluated.index = data.index["id"].to_numpy()[evaluated["row"]]
    assert sorted(table.index) == sorted(evaluated.index)  # the same 10 samples
    np.testing.assert_allclose(table.loc[evaluated.index, "p_spheres"], evaluated["p_sphere"],
                               rtol=0, atol=1e-6)
    assert (table.loc[evaluated.index, "predicted"] == evaluated["predicted"]).all()

    assert err.splitlines()[-1] == "skipped 2 file(s); classified 10 samples"
    accuracy = (table["class"] == table["predicted"]).mean()
    assert lines[-1] == f"accuracy {accuracy:.4f} over 10 samples"


def test_the_csv_has_a_row_per_sample_and_a_probability_per_class(tmp_path, capsys, model_path):
    root = write_folder(tmp_path / "raw", n=5)
    lines, _ = run(model_path, capsys, "--folder", root, "--output", tmp_path / "out" / "p.csv")
    table = pd.read_csv(tmp_path / "out" / "p.csv")
    assert list(table.columns) == ["id", "class", "predicted", "p_cubes", "p_spheres"]
    assert len(table) == 10 and table["id"].is_unique
    assert (table["class"] == table["id"].str.split("/").str[0]).all()
    probs = table[["p_cubes", "p_spheres"]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1, atol=1e-5)
    assert table["predicted"].tolist() == [CLASSES[k] for k in probs.argmax(axis=1)]
    assert table["id"].tolist() == [line.split("\t")[0] for line in lines[:-1]]
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["p.csv"]  # no temp file left


def test_batch_size_does_not_change_the_probabilities(tmp_path, capsys, model_path):
    root = write_folder(tmp_path / "raw")
    tables = []
    for batch_size in (1, 5, 256):
        run(model_path, capsys, "--folder", root, "--batch-size", batch_size,
            "--output", tmp_path / f"{batch_size}.csv")
        tables.append(pd.read_csv(tmp_path / f"{batch_size}.csv"))
    for table in tables[:2]:
        assert table["id"].tolist() == tables[-1]["id"].tolist()
        np.testing.assert_allclose(table[["p_cubes", "p_spheres"]],
                                   tables[-1][["p_cubes", "p_spheres"]], atol=1e-5)


def test_bad_files_are_named_with_a_reason_and_skipped(tmp_path, capsys, model_path):
    root = write_folder(tmp_path / "raw")
    write_class(root, "cones", ["0000"], np.random.default_rng(2), rgb_only=["0007"],
                lidar_only=["0008"])  # a class the model does not know
    (root / "cubes" / "rgb" / "0002.png").write_bytes(b"this is not a png")
    depth = np.full((SIZE, SIZE), 10.0, np.float32)
    depth[3, 3] = np.nan
    np.save(root / "spheres" / "lidar" / "0004.npy", depth)
    (root / "spheres" / "notes.txt").write_text("taken on a rainy day")

    lines, err = run(model_path, capsys, "--folder", root, "--output", tmp_path / "p.csv")
    reasons = dict(line.removeprefix("skipped ").split(": ", 1) for line in err.splitlines()[:-1])
    assert set(reasons) == {str(root / p) for p in ("cubes/rgb/0002.png", "spheres/lidar/0004.npy",
                            "cones/rgb/0007.png", "cones/lidar/0008.npy",
                            "spheres/notes.txt")}
    assert reasons[str(root / "cubes/rgb/0002.png")].startswith("undecodable image")
    assert reasons[str(root / "spheres/lidar/0004.npy")] == "depth contains NaN or inf"
    assert reasons[str(root / "cones/rgb/0007.png")] == "no LiDAR file with the same stem"
    assert err.splitlines()[-1] == "skipped 5 file(s); classified 11 samples"
    ids = [line.split("\t")[0] for line in lines]  # no accuracy line: cones are unknown
    assert len(ids) == 11 and "cubes/0002" not in ids and "spheres/0004" not in ids
    assert pd.read_csv(tmp_path / "p.csv")["id"].tolist() == ids


def test_a_folder_is_decoded_one_batch_at_a_time(tmp_path, monkeypatch):
    """Memory does not grow with the folder: no pair is decoded before its batch is asked for."""
    root = write_folder(tmp_path / "raw", n=7)
    original, decoded = predict.decode_pair, []

    def counting(*args, **kwargs):
        decoded.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(predict, "decode_pair", counting)
    seen, sizes = 0, []
    for batch in predict.folder_batches(scan(root), 3, SIZE, MAX_RANGE, skip=None):
        seen += len(batch.ids)
        sizes.append(len(batch.ids))
        assert len(decoded) == seen  # exactly this batch's pairs were decoded, and no more
        assert batch.rgb.shape == batch.xyza.shape == (len(batch.ids), 4, SIZE, SIZE)
    assert sizes == [3, 3, 1, 3, 3, 1]  # a batch holds one class folder's pairs


def test_prefetch_prepares_one_batch_ahead():
    produced = []

    def source():
        for i in range(5):
            produced.append(i)
            yield i

    for i, item in enumerate(predict.prefetch(source())):
        assert item == i and len(produced) <= i + 2
    assert produced == list(range(5))


def test_bad_arguments_are_rejected(tmp_path, capsys, model_path):
    folder = ["--folder", str(tmp_path)]
    for args, message in (([], "give either --folder"),
                          ([*folder, "--batch-size", "0"], "--batch-size: expected an integer"),
                          ([*folder, "--device", "gpu"], "--device: expected auto, cpu, cuda"),
                          ([*folder, "--device", "cuda:7"], "--device: 'cuda:7' requested")):
        with pytest.raises(SystemExit):
            predict.main(["--model", str(model_path), *args])
        assert message in capsys.readouterr().err
    with pytest.raises(SystemExit, match="data root not found"):
        predict.main(["--model", str(model_path), "--folder", str(tmp_path / "missing")])
