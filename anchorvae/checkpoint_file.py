"""Reading a checkpoint file safely, with one-line errors that name the file."""

from __future__ import annotations

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


def build_model(path: Path, checkpoint: dict, make: Callable[[dict], M], kind: str) -> M:
    """``make(model_config)`` with the checkpoint's weights; BadInputFile if they do not fit."""
    try:
        model = make(checkpoint["model_config"])
        model.load_state_dict(checkpoint["state_dict"])
    except (TypeError, KeyError, ValueError, RuntimeError, AttributeError) as err:
        reason = str(err).strip().splitlines()[0]
        raise BadInputFile(f"{path} is not a {kind} checkpoint ({reason})") from None
    return model.eval()
