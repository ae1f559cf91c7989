"""Checkpoint files: written whole, read safely (``weights_only``), rebuilt into their
model with one-line errors that name the file (models.py: a VAE; classifier.py: the
classifier).

A checkpoint holds ``{state_dict, model_config, ...}``: the model is rebuilt from the
file alone (STYLE.md, rule 5)."""

from __future__ import annotations

import errno
import pickle
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import torch
from torch import nn

from anchorvae.errors import BadInputFile, UsageError

REQUIRED = ("state_dict", "model_config")
M = TypeVar("M", bound=nn.Module)


def read_checkpoint(path: str | Path, map_location="cpu") -> dict:
    """The checkpoint dict at ``path``, loaded with ``weights_only=True``.

    A missing path or a folder is a UsageError (a bad argument); a file torch cannot load
    safely, or one without a state_dict and a model_config, is a BadInputFile.
    """
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{path} is a folder: expected a checkpoint file")
    if not path.is_file():
        raise UsageError(f"{path} does not exist: run the stage that writes it")
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols on stderr
            warnings.simplefilter("ignore")
            checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:
        raise BadInputFile(
            f"{path} is not a checkpoint torch can load safely (weights_only refused it: "
            "it holds more than tensors and plain containers)"
        ) from None
    except (RuntimeError, EOFError, ValueError, OSError) as err:
        reason = str(err).strip().splitlines()[0][:200] if str(err).strip() else "empty"
        raise BadInputFile(
            f"{path} is not a checkpoint torch can load safely ({reason})"
        ) from None
    if not isinstance(checkpoint, dict) or not all(k in checkpoint for k in REQUIRED):
        raise BadInputFile(f"{path} is not a checkpoint: expected a state_dict and a model_config")
    return checkpoint


def write_checkpoint(checkpoint: dict, path: str | Path) -> None:
    """``torch.save``, whose writer fails on a full disk with a RuntimeError ("PytorchStream
    Writer failed writing file ..."): an OSError instead, which the atomic output it is
    written into (anchorvae/artifacts/atomic.py) names by the output's path."""
    try:
        torch.save(checkpoint, path)
    except RuntimeError as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else "write failed"
        raise OSError(errno.EIO, f"cannot write a checkpoint ({reason})") from None


def build_model(path: Path, checkpoint: dict, make: Callable[[dict], M], kind: str) -> M:
    """``make(model_config)`` with the checkpoint's weights; BadInputFile if they do not fit."""
    try:
        model = make(checkpoint["model_config"])
        model.load_state_dict(checkpoint["state_dict"])
    except (TypeError, KeyError, ValueError, RuntimeError, AttributeError) as err:
        reason = str(err).strip().splitlines()[0]
        raise BadInputFile(f"{path} is not a {kind} checkpoint ({reason})") from None
    broken = [name for name, t in model.state_dict().items()
              if t.is_floating_point() and not torch.isfinite(t).all()]  # fmt: skip
    if broken:
        raise BadInputFile(
            f"{path} holds weights that are not finite ({broken[0]}): a diverged model, "
            "not a result (retrain it)"
        )
    return model.eval()
