"""Where the real reference frames lie (`../shared/real-reference/` beside the repository), and
how a benchmark reads them or says that they are not there."""

from __future__ import annotations

from pathlib import Path

import numpy as np

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "real-reference" / \
    "real_reference.npz"


def load(path: Path = REFERENCE, without: str = "") -> dict[str, np.ndarray] | None:
    """The npz's arrays, or None where the file is absent, printing then what is done
    `without` them."""
    if not path.is_file():
        print(f"No real reference frames at {path} (they come with the project's shared "
              f"folder, ../shared/real-reference/): {without}")
        return None
    with np.load(path) as arrays:
        return {key: arrays[key] for key in arrays.files}
