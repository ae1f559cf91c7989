"""Per-epoch training history, logged through DVCLive.

DVCLive writes ``<folder>/metrics.json`` (the last epoch) and one TSV per metric under
``<folder>/plots/metrics/train/``. Its own dvc.yaml writing and experiment saving are
off: the project's dvc.yaml declares these files, and `dvc exp` is driven by the user.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
from dvclive import Live
from scmrepo.exceptions import SCMError

from anchorvae.errors import UsageError
from anchorvae.train import EpochRecord

LOGGED = ("loss", "recon", "kl", "seconds")  # EpochRecord fields written per epoch


class EpochLogger:
    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.live: Live | None = None

    def __enter__(self) -> EpochLogger:
        try:
            self.live = Live(dir=str(self.folder), save_dvc_exp=False, dvcyaml=False, report=None)
        except SCMError as err:  # DVCLive 3.49 reads HEAD even with experiments off
            raise UsageError(
                f"DVCLive cannot log here ({err}): the git repository has no commit yet; "
                "commit once (git add -A && git commit -m start), then run again"
            ) from None
        return self

    def __exit__(self, *exc) -> None:
        self.live.end()

    def log(self, record: EpochRecord, model=None) -> None:
        self.live.step = record.epoch
        for name in LOGGED:
            self.live.log_metric(f"train/{name}", getattr(record, name))
        self.live.next_step()

    @staticmethod
    def summary(history: list[EpochRecord]) -> dict:
        """The last epoch's losses, for the checkpoint. Timings stay out of it (they are
        in the history) so that the same params and seed give the same checkpoint bytes."""
        last = dataclasses.asdict(history[-1])
        return {key: last[key] for key in ("loss", "recon", "kl")}


def read_history(folder: str | Path) -> pd.DataFrame:
    """The per-epoch table (epoch, loss, recon, kl, seconds) from DVCLive's TSV files."""
    tables = [
        pd.read_csv(
            Path(folder) / "plots" / "metrics" / "train" / f"{name}.tsv", sep="\t"
        ).set_index("step")[name]
        for name in LOGGED
    ]
    return pd.concat(tables, axis=1).rename_axis("epoch").reset_index()
