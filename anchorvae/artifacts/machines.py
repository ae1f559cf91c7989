"""made_on.json: the machine a training stage's bytes came from.

<models folder>/made_on.json   written by `train` (anchorvae/training/arithmetic.py's record)
metrics/made_on.json           every variant's, gathered by the `made_on` stage and
                               committed with the metrics, so that `make repro` can say why
                               its metrics differ from the committed ones (tools/made_on.py)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from anchorvae.artifacts.atomic import write_json
from anchorvae.artifacts.tables import read_json
from anchorvae.errors import BadInputFile, UsageError

MADE_ON = "made_on.json"
ARITHMETIC = re.compile(r"[0-9a-f]{12}")  # training/arithmetic.py's digest


def write_made_on(folder: str | Path, record: Mapping) -> None:
    write_json(Path(folder) / MADE_ON, dict(record))


def check_record(record, name: str) -> dict:
    """A machine record as arithmetic.machine_record makes it; anything else is one line."""
    if not isinstance(record, dict) or set(record) != {"device", "threads", "torch",
                                                       "arithmetic"}:  # fmt: skip
        raise BadInputFile(f"{name}: not a machine record (keys device, threads, torch, "
                           "arithmetic)")  # fmt: skip
    if not all(isinstance(record[k], str) and record[k] for k in ("device", "torch")):
        raise BadInputFile(f"{name}: device and torch must be non-empty text")
    threads = record["threads"]
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise BadInputFile(f"{name}: threads is {threads!r}, expected a whole number >= 1")
    if not isinstance(record["arithmetic"], str) or not ARITHMETIC.fullmatch(record["arithmetic"]):
        raise BadInputFile(f"{name}: arithmetic is {record['arithmetic']!r}, expected 12 hex "
                           "digits")  # fmt: skip
    return record


def read_made_on(folder: str | Path) -> dict:
    """The record of one variant's trained models."""
    path = Path(folder) / MADE_ON
    if not path.is_file():
        raise UsageError(f"{path} is missing: rerun the train stage (`dvc repro`)")
    return check_record(read_json(path), str(path))


def parse_made_on(document, name: str) -> dict[str, dict]:
    """metrics/made_on.json (variant -> record), checked; ``document`` as JSON gave it."""
    if not isinstance(document, dict) or not document:
        raise BadInputFile(f"{name}: not the made_on stage's machine records (variant -> "
                           "record)")  # fmt: skip
    return {variant: check_record(record, f"{name}: {variant}")
            for variant, record in document.items()}  # fmt: skip
