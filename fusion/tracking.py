"""Optional Weights & Biases logging, configured only by W&B's own environment variables.

Off unless `WANDB_MODE` is `online`/`offline`, or `WANDB_API_KEY` is set (and `WANDB_MODE` is not
`disabled`). One run per (strategy, seed), grouped by strategy and tagged with the DVC experiment
(`DVC_EXP_NAME`) when there is one, so W&B's UI shows the spread across seeds. Files go
to `WANDB_DIR`, or else to a cache folder outside the repository, so that they never land in
DVC's temporary experiment folders.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DIR = Path.home() / ".cache" / "fusion" / "wandb"


def enabled() -> bool:
    mode = os.environ.get("WANDB_MODE", "").lower()
    if mode == "disabled":
        return False
    return mode in ("online", "offline") or bool(os.environ.get("WANDB_API_KEY"))


class Run:
    """A W&B run, or a no-op when W&B is off."""

    def __init__(self, name: str, config: dict, group: str | None = None,
                 job_type: str = "train"):
        self._run = None
        if not enabled():
            return
        import wandb

        directory = Path(os.environ.get("WANDB_DIR") or DEFAULT_DIR)
        directory.mkdir(parents=True, exist_ok=True)
        self._run = wandb.init(
            project=os.environ.get("WANDB_PROJECT", "rgb-lidar-fusion"),
            name=name,
            group=group,
            job_type=job_type,
            tags=[f"exp:{os.environ['DVC_EXP_NAME']}"] if os.environ.get("DVC_EXP_NAME") else None,
            config=config,
            dir=str(directory),
            reinit="create_new",  # a SeedStack logs its seeds side by side
        )

    def log(self, metrics: dict, step: int | None = None) -> None:
        if self._run:
            self._run.log(metrics, step=step)

    def finish(self, summary: dict | None = None) -> None:
        if self._run:
            self._run.summary.update(summary or {})
            self._run.finish()
