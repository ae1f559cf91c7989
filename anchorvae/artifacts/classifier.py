"""The classifier stage's checkpoint: the digit classifier that judges decoded images."""

from __future__ import annotations

from pathlib import Path

import torch

from anchorvae.artifacts.checkpoints import build_model, read_checkpoint, write_checkpoint
from anchorvae.method.classifier import ClassifierConfig, DigitClassifier


def save_classifier(path: str | Path, model: DigitClassifier, epochs: int, metrics: dict) -> None:
    """Write the trained classifier with its config, epochs and test ``metrics`` to
    ``path`` (the caller makes it atomic)."""
    checkpoint = {
        "state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
        "model_config": ClassifierConfig().to_dict(),
        "epoch": epochs,
        "metrics": metrics,
    }
    write_checkpoint(checkpoint, path)


def load_classifier(path: str | Path, map_location: str | torch.device = "cpu") -> DigitClassifier:
    """The classifier of the classifier stage; one-line errors for any other file."""
    checkpoint = read_checkpoint(path, map_location)

    def make(config: dict) -> DigitClassifier:
        return DigitClassifier(ClassifierConfig(tuple(config["channels"]), config["n_classes"]))

    return build_model(Path(path), checkpoint, make, "classifier")
