import numpy as np
import pandas as pd
import pytest
from PIL import Image

from fusion import report

NAMES = ["late", "early"]  # deliberately not alphabetical: the table keeps this order


@pytest.fixture
def val_curves():
    return {
        "late": pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [0.9, 0.5, 0.3],
                              "val_loss": [0.6, 0.2, 0.4], "val_accuracy": [0.7, 0.9, 0.8]}),
        "early": pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [0.8, 0.4, 0.2],
                               "val_loss": [0.3, 0.1, 1e-6], "val_accuracy": [0.8, 0.9, 1.0]}),
    }


@pytest.fixture
def table(val_curves):
    train = {
        name: {"params": params, "best_val_loss": 0.0, "best_epoch": 2, "val_accuracy": 0.9,
               "seconds_per_epoch": 1.5, "samples_per_second": 800.0, "peak_memory_mb": 120.0}
        for name, params in zip(NAMES, (1_234_567, 89_000), strict=True)
    }
    evaluation = {
        name: {"test_accuracy": accuracy, "test_f1": 0.9, "test_ece": 0.03,
               "robustness_rgb": 0.8, "robustness_lidar": 0.7, "flops": 12_300_000,
               "latency_ms": latency, "throughput": 5e4}
        for name, accuracy, latency in zip(NAMES, (0.912, 0.85), (2.0, 0.5), strict=True)
    }
    return report.comparison_table(train, evaluation, val_curves)


def robustness_curves():
    severities = {"rgb_noise": [0, 1, 2], "lidar_noise": [0, 1, 2], "lidar_dropout": [0, 0.5, 1]}
    rows = [(c, s, 1 - s / 4) for c, levels in severities.items() for s in levels]
    curve = pd.DataFrame(rows, columns=["corruption", "severity", "accuracy"])
    return {"late": curve, "early": curve.assign(accuracy=curve["accuracy"] - 0.1)}


def test_comparison_table_keeps_order_and_computes_val_losses(table):
    assert table["strategy"].tolist() == NAMES
    assert list(table.columns) == list(report.COLUMNS)
    late, early = table.iloc[0], table.iloc[1]
    assert late["avg_val_loss"] == pytest.approx(0.4)
    assert late["best_val_loss"] == pytest.approx(0.2)
    assert early["best_val_loss"] == pytest.approx(1e-6)
    assert (late["params"], early["latency_ms"]) == (1_234_567, 0.5)


def test_comparison_table_rejects_mismatched_strategies(val_curves):
    with pytest.raises(ValueError, match="eval_metrics"):
        report.comparison_table({"late": {}, "early": {}}, {"late": {}}, val_curves)


def test_markdown_table_has_header_separator_and_a_row_per_strategy(table):
    lines = report.to_markdown(table).strip().splitlines()
    assert len(lines) == 2 + len(NAMES)
    assert lines[0].startswith("| Strategy | Avg val loss | Best val loss |")
    assert set(lines[1].replace("|", "").split()) <= {"---", "---:"}
    assert lines[2].startswith("| late |")
    for cell in ("1,234,567", "91.2%", "12.3M", "0.4", "0.2"):
        assert f" {cell} " in lines[2]
    assert " 1e-06 " in lines[3]
    assert all(line.count("|") == len(report.COLUMNS) + 1 for line in lines)


def test_calibration_error_of_a_reliability_table():
    df = pd.DataFrame({"lower": [0.5, 0.75], "upper": [0.75, 1.0], "count": [1, 3],
                       "confidence": [0.6, 0.9], "accuracy": [0.0, 1.0]})
    assert report.calibration_error(df) == pytest.approx((1 * 0.6 + 3 * 0.1) / 4)


def assert_png(path, wide=False):
    with Image.open(path) as image:
        assert image.format == "PNG"
        width, height = image.size
    assert width >= 400 and height >= 300
    if wide:
        assert width > 2 * height
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left


def test_plot_val_losses(tmp_path, val_curves):
    report.plot_val_losses(val_curves, tmp_path / "val.png")
    assert_png(tmp_path / "val.png")


def test_plot_robustness(tmp_path):
    report.plot_robustness(robustness_curves(), tmp_path / "robustness.png")
    assert_png(tmp_path / "robustness.png", wide=True)


def test_plot_accuracy_vs_cost(tmp_path, table):
    report.plot_accuracy_vs_cost(table, tmp_path / "cost.png")
    assert_png(tmp_path / "cost.png", wide=True)


def test_plot_gallery(tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (5, 4, 16, 16), dtype=np.uint8)
    depth = rng.uniform(5, 50, (5, 16, 16))
    captions = [f"cubes, p(sphere) = 0.{i}" for i in range(5)]
    report.plot_gallery(rgb, depth, captions, [i == 2 for i in range(5)], tmp_path / "g.png")
    assert_png(tmp_path / "g.png")
    with pytest.raises(ValueError, match="captions"):
        report.plot_gallery(rgb, depth, captions[:3], [False] * 5, tmp_path / "bad.png")


def test_plot_confusion(tmp_path):
    classes = ["cubes", "spheres"]
    report.plot_confusion(["cubes", "spheres", "spheres"], ["cubes", "cubes", "spheres"],
                          classes, tmp_path / "confusion.png")
    assert_png(tmp_path / "confusion.png")
    with pytest.raises(ValueError, match="cones"):
        report.plot_confusion(["cones"], ["cubes"], classes, tmp_path / "bad.png")


def test_plot_reliability(tmp_path):
    df = pd.DataFrame({"lower": [0.0, 0.5], "upper": [0.5, 1.0], "count": [0, 4],
                       "confidence": [np.nan, 0.8], "accuracy": [np.nan, 0.75]})
    report.plot_reliability(df, tmp_path / "reliability.png")
    assert_png(tmp_path / "reliability.png")


def test_strategy_styles_are_distinct_and_stable():
    names = [f"s{i}" for i in range(12)]
    styles = report.strategy_styles(names)
    assert len({style["color"] for style in styles.values()}) == 12
    assert report.strategy_styles(names[:3]) == {n: styles[n] for n in names[:3]}
