"""The figures in README.md and docs/ are written from their outputs (docs/blocks.py) and have
not drifted from them."""

import importlib.util
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
