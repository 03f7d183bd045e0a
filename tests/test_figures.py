"""The figures: what each one plots (read back from its matplotlib Figure) and its PNG file."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from fusion.comparison import figures
from fusion.faults import FAULTS

NAMES = ["late", "early", "rgb_only"]  # deliberately not sorted: figures keep this order
SEVERITIES = {"darkness": [1, 2, 4, 6], "range_noise": [0.25, 0.5, 1, 2],
              "camera_shift": [1, 2, 4, 8]}


@pytest.fixture
def drawn(monkeypatch):
    """The Figures the plot functions draw, in order, each still written to its file."""
    kept, save = [], figures._save

    def keep(fig, path):
        kept.append(fig)
        save(fig, path)

    monkeypatch.setattr(figures, "_save", keep)
    return kept


def assert_png(path, wide=False):
    with Image.open(path) as image:
        assert image.format == "PNG"
        width, height = image.size
    assert width >= 400 and height >= 250
    if wide:
        assert width > 2 * height
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left


def legend(fig):
    return [text.get_text() for text in fig.legends[0].get_texts()]


def test_val_losses_plot_each_seed_and_the_mean_of_each_strategy(tmp_path, drawn):
    curves = {n: {s: pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [9.0, 8.0, 7.0],
                                   "val_loss": [0.6 + i, 0.2 + s + i, 1e-6 + s]})
                  for s in range(3)} for i, n in enumerate(NAMES)}
    figures.plot_val_losses(curves, tmp_path / "val.png")
    assert_png(tmp_path / "val.png")
    (fig,) = drawn
    (ax,) = fig.axes
    styles = figures.strategy_styles(NAMES)
    assert legend(fig) == NAMES
    for name in NAMES:
        lines = [line for line in ax.get_lines() if line.get_color() == styles[name]["color"]]
        *faint, mean = lines
        assert mean.get_label() == name
        frames = list(curves[name].values())
        for line, curve in zip(faint, frames, strict=True):
            np.testing.assert_array_equal(line.get_xdata(), curve["epoch"])
            np.testing.assert_array_equal(line.get_ydata(), curve["val_loss"])
        np.testing.assert_allclose(mean.get_ydata(),
                                   np.mean([c["val_loss"] for c in frames], axis=0))


def test_severity_plots_the_mean_and_the_seed_range_per_fault(tmp_path, drawn):
    def curve(offset):  # accuracy differs by strategy, fault, severity and seed
        rows = [(seed, f, s, 1 - s / (2 + k) / 10 - seed / 20 - offset)
                for seed in range(3) for k, (f, levels) in enumerate(SEVERITIES.items())
                for s in levels]
        return pd.DataFrame(rows, columns=["seed", "fault", "severity", "accuracy"])

    curves = {n: curve(i / 10) for i, n in enumerate(NAMES)}
    figures.plot_severity(curves, tmp_path / "severity.png")
    assert_png(tmp_path / "severity.png")
    (fig,) = drawn
    assert legend(fig) == NAMES
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in shown] == list(SEVERITIES)
    for ax, fault in zip(shown, SEVERITIES, strict=True):
        lines = {line.get_label(): line for line in ax.get_lines()}
        for name, band in zip(NAMES, ax.collections, strict=True):
            accuracy = curves[name].query("fault == @fault").groupby("severity")["accuracy"]
            np.testing.assert_allclose(lines[name].get_xdata(), SEVERITIES[fault])
            np.testing.assert_allclose(lines[name].get_ydata(), accuracy.mean())
            (path,) = band.get_paths()  # the band: worst to best seed at each severity
            for severity, low, high in zip(SEVERITIES[fault], accuracy.min(),
                                           accuracy.max(), strict=True):
                y = path.vertices[np.isclose(path.vertices[:, 0], severity), 1]
                assert y.min() == pytest.approx(low) and y.max() == pytest.approx(high)


def test_fault_heatmap_shows_each_relative_accuracy_and_frames_fusion_below_its_sensor(
        tmp_path, drawn):
    faults = list(FAULTS)
    summary = {n: {f"ra_{f}": 0.5 + (i + k) / 100 for k, f in enumerate(faults)}
               for i, n in enumerate(NAMES)}
    floor = pd.DataFrame({"fault": ["haze", "haze"], "strategy": ["late", "early"],
                          "verdict": ["below", "above"]})
    figures.plot_fault_heatmap(summary, floor, NAMES, tmp_path / "faults.png")
    assert_png(tmp_path / "faults.png", wide=True)
    ax = drawn[0].axes[0]
    np.testing.assert_allclose(ax.images[0].get_array(),
                               [[summary[n][f"ra_{f}"] for f in faults] for n in NAMES])
    assert [t.get_text() for t in ax.get_xticklabels()] == faults
    (frame,) = ax.patches  # only `below` is framed, at (haze, late)
    assert frame.get_xy() == (faults.index("haze") - 0.5, NAMES.index("late") - 0.5)


def test_forest_plot_shows_each_strategys_mean_and_interval_per_metric(tmp_path, drawn):
    summary = {}
    for i, name in enumerate(NAMES):
        summary[name] = {}
        for k, metric in enumerate(figures.TIERED):
            mean = 0.9 - i / 10 - k / 100
            summary[name] |= {metric: mean, f"{metric}_ci_low": mean - 0.01 * (i + 1),
                              f"{metric}_ci_high": mean + 0.02 * (k + 1)}
    figures.plot_intervals(summary, tmp_path / "intervals.png")
    assert_png(tmp_path / "intervals.png", wide=True)
    (fig,) = drawn
    axes = fig.axes
    rows = dict(zip((t.get_text() for t in axes[0].get_yticklabels()), axes[0].get_yticks(),
                    strict=True))
    assert sorted(rows, key=rows.get, reverse=True) == NAMES  # top to bottom in the given order
    for ax, (metric, label) in zip(axes, figures.TIERED.items(), strict=True):
        assert label in ax.get_xlabel()
        for name, row in rows.items():
            s = summary[name]
            interval, mean = (line for line in ax.get_lines() if line.get_ydata()[0] == row)
            np.testing.assert_allclose(interval.get_xdata(),
                                       [s[f"{metric}_ci_low"], s[f"{metric}_ci_high"]])
            np.testing.assert_allclose(mean.get_xdata(), [s[metric]])


def test_pairwise_heatmap_holds_p_a_better_and_its_complement(tmp_path, drawn):
    pairs = [("late", "early", 0.6), ("late", "rgb_only", 0.9), ("early", "rgb_only", 0.8)]
    pairwise = pd.DataFrame([{"a": a, "b": b, "metric": m, "p_a_better": p - k / 10}
                             for k, m in enumerate(figures.TIERED) for a, b, p in pairs])
    figures.plot_pairwise(pairwise, NAMES, tmp_path / "pairwise.png")
    assert_png(tmp_path / "pairwise.png", wide=True)
    (fig,) = drawn
    for ax, metric in zip(fig.axes[:-1], figures.TIERED, strict=True):  # last: the colour bar
        matrix = np.ma.filled(ax.images[0].get_array(), np.nan)  # NaN cells come masked
        for pair in pairwise[pairwise["metric"] == metric].itertuples():
            i, j = NAMES.index(pair.a), NAMES.index(pair.b)
            assert matrix[i, j] == pytest.approx(pair.p_a_better)
            assert matrix[j, i] == pytest.approx(1 - pair.p_a_better)
        assert np.isnan(np.diag(matrix)).all()  # no strategy against itself


def test_accuracy_vs_cost_places_each_strategy_at_its_cost_and_accuracy(tmp_path, drawn):
    table = pd.DataFrame({"strategy": NAMES, "params": [1e3, 1e5, 1e4],
                          "latency_ms": [0.5, 2.0, 1.0], "test_accuracy": [0.99, 0.95, 0.9]})
    table = table.assign(test_accuracy_ci_low=table["test_accuracy"] - 0.02,
                         test_accuracy_ci_high=table["test_accuracy"] + 0.01)
    figures.plot_accuracy_vs_cost(table, tmp_path / "cost.png")
    assert_png(tmp_path / "cost.png", wide=True)
    (fig,) = drawn
    for ax, column in zip(fig.axes, ["params", "latency_ms"], strict=True):
        placed = {text.get_text(): text.xy for text in ax.texts}
        assert placed == {row.strategy: (getattr(row, column), row.test_accuracy)
                          for row in table.itertuples()}


def test_reliability_diagram_bars_are_the_bins_accuracy_and_count(tmp_path, drawn):
    df = pd.DataFrame({"lower": [0.0, 0.5], "upper": [0.5, 1.0], "count": [0, 4],
                       "confidence": [np.nan, 0.8], "accuracy": [np.nan, 0.75]})
    figures.plot_reliability(df, tmp_path / "reliability.png")
    assert_png(tmp_path / "reliability.png")
    (fig,) = drawn
    top, bottom = fig.axes
    assert [bar.get_height() for bar in top.patches] == [0.0, 0.75]  # an empty bin: no bar
    assert [bar.get_height() for bar in bottom.patches] == [0, 4]
    assert [bar.get_x() for bar in top.patches] == [0.0, 0.5]
    assert "ECE = 0.050" in top.get_title()


def test_plot_gallery(tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (5, 4, 16, 16), dtype=np.uint8)
    depth = rng.uniform(5, 50, (5, 16, 16))
    captions = [f"cubes, p(sphere) = 0.{i}" for i in range(5)]
    figures.plot_gallery(rgb, depth, captions, [i == 2 for i in range(5)], tmp_path / "g.png")
    assert_png(tmp_path / "g.png")
    with pytest.raises(ValueError, match="captions"):
        figures.plot_gallery(rgb, depth, captions[:3], [False] * 5, tmp_path / "bad.png")


def test_calibration_error_of_a_reliability_table():
    df = pd.DataFrame({"lower": [0.5, 0.75], "upper": [0.75, 1.0], "count": [1, 3],
                       "confidence": [0.6, 0.9], "accuracy": [0.0, 1.0]})
    assert figures.calibration_error(df) == pytest.approx((1 * 0.6 + 3 * 0.1) / 4)


def test_strategy_styles_are_distinct_and_stable():
    names = [f"s{i}" for i in range(12)]
    styles = figures.strategy_styles(names)
    assert len({style["color"] for style in styles.values()}) == 12
    assert figures.strategy_styles(names[:3]) == {n: styles[n] for n in names[:3]}
