"""Anchoring scores: one module per score, beside the maps it reads.

Every module of this package whose name does not start with ``_`` is a score, named
after its module (what ``variants.<name>.anchors`` in params.yaml refers to). It defines

    MAPS                    map name -> its title in the templates figure ({} for none)
    build_maps(spec, images, labels) -> ({map name: 28x28 float32 in [0, 1]}, {what the
                            maps were made of, {} for nothing to record})  (if MAPS;
                            spec: params.yaml's templates, method/templates.TemplateSpec)
    score(inputs: ScoreInputs) -> (N,) one number per image, or (N, k) memberships of k
                            clusters (a membership score: anchorvae/method/layouts.py)

The templates stage builds every score's maps into one folder (anchorvae/artifacts/arrays.py),
which the scores stages depend on as a whole: adding a score with a new map is one module
here (plus params).
"""

from __future__ import annotations

import ast
import functools
import importlib
import pkgutil
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from anchorvae.method.layouts import MEMBERSHIP_POINTS

if TYPE_CHECKING:
    import numpy as np
    import torch

    from anchorvae.method.scores._base import ScoreInputs

__all__ = ["NAMES", "SCORES", "ScoreInputs", "anchor_scores", "build_all_maps"]


# The score names, read off the modules' file names without importing them (nor torch):
# all that checking params.yaml needs, on every params edit.
def _names() -> tuple[str, ...]:
    return tuple(sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name[0] != "_"))


NAMES: tuple[str, ...] = _names()


def _import(names: tuple[str, ...]) -> dict[str, ModuleType]:
    return {name: importlib.import_module(f"{__name__}.{name}") for name in names}


@functools.cache
def _modules() -> dict[str, ModuleType]:
    """Score name -> its module, imported on first use (they import torch)."""
    return _import(NAMES)


def __getattr__(name: str) -> Any:
    """SCORES (name -> module) and ScoreInputs, imported on first use (PEP 562)."""
    if name == "SCORES":
        return _modules()
    if name == "ScoreInputs":
        from anchorvae.method.scores._base import ScoreInputs

        return ScoreInputs
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def map_titles() -> dict[str, str]:
    """Every map of every score, name -> title, in score order."""
    return {name: title for module in _modules().values() for name, title in module.MAPS.items()}


def build_all_maps(spec, images: np.ndarray, labels: np.ndarray) -> tuple[dict, dict]:
    """Every score's maps, name -> 28x28 float32, and what they were made of, score ->
    record (the scores with one); ``images`` (N, 28, 28) is the training set, ``spec``
    the templates (method/templates.TemplateSpec)."""
    maps: dict[str, np.ndarray] = {}
    made_of: dict[str, dict] = {}
    for name, module in _modules().items():
        if module.MAPS:
            built, record = module.build_maps(spec, images, labels)
            maps.update(built)
            if record:
                made_of[name] = record
    return maps, made_of


SCALES = ("raw", "standard")  # what a score takes unless its module says otherwise


def declared_scales() -> dict[str, tuple[str, ...]]:
    """Score name -> the scales it takes, read off each module's source (its ``SCALES =
    (...)``, else every one) without importing it: what checking params.yaml needs."""
    scales = {}
    for name in NAMES:
        tree = ast.parse((Path(__path__[0]) / f"{name}.py").read_text())
        declared = [node.value for node in tree.body if isinstance(node, ast.Assign)
                    and any(getattr(t, "id", None) == "SCALES" for t in node.targets)]  # fmt: skip
        scales[name] = tuple(ast.literal_eval(declared[-1])) if declared else SCALES
    return scales


def scales_of(name: str) -> tuple[str, ...]:
    """The scales score ``name`` can be given (its module's SCALES, or every one)."""
    return getattr(_modules()[name], "SCALES", SCALES)


def anchor_scores(names: list[str], inputs: ScoreInputs, scale: str = "raw") -> torch.Tensor:
    """(N, len(names)): the named scores of every image, in the order given; ``standard``:
    each column shifted and scaled to mean 0 and standard deviation 1 over ``inputs``."""
    import torch

    refused = [name for name in names if scale not in scales_of(name)]
    if refused:
        raise ValueError(f"the {refused[0]} score takes scale {', '.join(scales_of(refused[0]))} "
                         "only")  # fmt: skip
    columns = [_modules()[name].score(inputs) for name in names]
    if not columns:
        return inputs.images.new_zeros(len(inputs.images), 0)
    # a membership score (layouts.py) gives k columns of its own
    scores = torch.cat([c if c.dim() == 2 else c[:, None] for c in columns], dim=-1)
    if scale == "standard":  # in float64: the mean of 60,000 values to the last bit
        wide = scores.double()
        sd = wide.std(dim=0, correction=0)
        if (sd == 0).any():
            raise ValueError("a score is the same for every image: it cannot be standardised")
        scores = ((wide - wide.mean(dim=0)) / sd).to(scores.dtype)
    return scores


def few_shot_labels(labels: np.ndarray, digits: tuple[int, ...], shots: int, seed: int):
    """(labels with every image of ``digits`` but ``shots`` of each hidden as -1, digit ->
    the indices kept): class means taken from those labels are few-shot templates. The
    shots are drawn without replacement by a NumPy generator seeded with ``seed``; 0 keeps
    every image."""
    import numpy as np

    if shots == 0:
        return labels, {d: np.flatnonzero(labels == d) for d in digits}
    rng = np.random.default_rng(seed)
    kept, hidden = {}, labels.copy()
    for digit in digits:
        pool = np.flatnonzero(labels == digit)
        if len(pool) < shots:
            raise ValueError(f"templates.shots = {shots} is more than the {len(pool)} training "
                             f"images of digit {digit}")  # fmt: skip
        kept[digit] = np.sort(rng.choice(pool, size=shots, replace=False))
        hidden[pool] = -1
        hidden[kept[digit]] = digit
    return hidden, kept


def scores_by_digit(maps: dict[str, np.ndarray], images: np.ndarray, labels: np.ndarray):
    """Mean and standard deviation of every score per digit, on the given images: the
    numbers that justify a template (a row per score and statistic, a column per digit)."""
    import numpy as np
    import pandas as pd
    import torch

    from anchorvae.method.scores._base import ScoreInputs

    flat = torch.from_numpy(images.reshape(len(images), -1)).double() / 255
    tensors = {k: torch.from_numpy(m).reshape(-1) for k, m in maps.items()}
    inputs = ScoreInputs(flat, torch.from_numpy(labels), tensors)
    rows = []
    for name, module in _modules().items():
        if name in MEMBERSHIP_POINTS:  # k columns, not a number per image
            continue
        values = module.score(inputs).numpy()
        for stat, reduce in (("mean", np.mean), ("sd", np.std)):
            row = {"score": name, "stat": stat}
            row.update({str(d): reduce(values[labels == d]) for d in range(10)})
            rows.append(row)
    return pd.DataFrame(rows)
