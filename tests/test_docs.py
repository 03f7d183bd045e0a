"""The figures in README.md and docs/ are written from their outputs (docs/blocks.py) and have
not drifted from them."""

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("blocks", ROOT / "docs/blocks.py")
blocks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(blocks)


def test_every_block_matches_its_output():
    assert blocks.stale() == []


def test_a_block_that_drifted_from_its_output_is_named(tmp_path):
    (tmp_path / "plots").mkdir()
    (tmp_path / "docs").mkdir()
    (tmp_path / "plots/comparison.md").write_text("| a | 99.1 |\n")
    readme = "intro\n<!-- comparison:start -->\n| a | 99.0 |\n<!-- comparison:end -->\nend\n"
    (tmp_path / "README.md").write_text(readme)
    assert blocks.stale(tmp_path) == ["README.md: comparison"]
    fixed = blocks.render(readme, tmp_path)
    assert fixed == readme.replace("99.0", "99.1")
    (tmp_path / "README.md").write_text(fixed)
    assert blocks.stale(tmp_path) == []


# A measured figure: a percentage, a time, a speed-up, a rate or a size, or a decimal number
# of points. Counts, settings and versions ("2,400 test samples", "64x64", "torch 2.14.1") are
# not figures of a run, nor are the levels the statistics are named for.
FIGURE = re.compile(r"(?<![\w.])\d[\d,]*(\.\d+)?"
                    r"(\s?(%|ms\b|s\b|min\b|h\b|samples/s|[KMG]i?B\b)|x\b)"
                    r"|(?<![\w.])\d+\.\d+\s?points?\b")
LEVELS = {"95%", "80%", "5%", "2.5%", "97.5%"}  # confidence, power, error rate, quantiles
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)
CITED = {"published_results.md"}  # others' published figures, each with its source


def unmarked_figures(text: str) -> list[str]:
    """Figures outside the marked blocks and outside code."""
    text = CODE.sub("", blocks.MARKED.sub("", text))
    return [m[0] for m in FIGURE.finditer(text) if m[0] not in LEVELS]


def test_no_measured_figure_stands_outside_a_block():
    found = {p.name: unmarked_figures(p.read_text()) for p in blocks.documents()
             if p.name not in CITED}
    assert {name: figures for name, figures in found.items() if figures} == {}


def test_a_typed_figure_is_found_and_a_marked_or_quoted_one_is_not():
    text = ("It took 5.5 min (8x), 99.7% at 2,400 samples, ahead by 1.2 points; 64x64, torch "
            "2.14.1, `1.5x` in code.\n<!-- comparison:start -->\n| a | 99.1% |\n"
            "<!-- comparison:end -->\n")
    assert unmarked_figures(text) == ["5.5 min", "8x", "99.7%", "1.2 points"]
