"""anchors.json, a variant's anchor points: written by `train` beside its checkpoints,
read (here, and nowhere else) by `evaluate`, which decodes them.

<models>/<variant>/anchors.json   {"points": (10, D) anchor point of each digit, or null,
                                   "purity": {"template_purity_zero": share, ...},
                                   "layout": {"points": (k, D), "digits": (k,),
                                              "accuracy": share or null}}
                                   (purity: an anchored variant's only; layout: a
                                   membership score's or a CVAE's; method/anchors.py)

A plain VAE's file holds null and it decodes the control's points, which sit beside its
folder (anchorvae/method/anchors.py says which variant decodes which). What a file
holds must agree with the params that trained it: a BadInputFile naming it otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import torch

from anchorvae.digits import ANCHORED_DIGITS, N_DIGITS
from anchorvae.errors import BadInputFile
from anchorvae.method.anchors import Anchoring, Layout, decodes_own_points, has_anchors

ANCHORS = "anchors.json"


def write_anchor_points(
    folder: str | Path, points: torch.Tensor | None, purity: dict[str, float] | None = None,
    layout: Layout | None = None,
) -> None:  # fmt: skip
    """Write ``points`` (10, D), or null for a plain VAE, an anchored variant's template
    ``purity`` and a membership score's or a CVAE's ``layout`` into ``folder`` (made
    atomic by the caller)."""
    anchors = {"points": None if points is None else points.tolist()}
    if purity is not None:
        anchors["purity"] = purity
    if layout is not None:
        anchors["layout"] = {"points": layout.points.tolist(), "digits": layout.digits.tolist(),
                             "accuracy": layout.accuracy}  # fmt: skip
    (Path(folder) / ANCHORS).write_text(json.dumps(anchors, indent=1) + "\n")


def read_layout(folder: str | Path, latent_dims: int) -> Layout | None:
    """The layout the train stage wrote into ``folder``'s anchors.json (None: it wrote
    none); BadInputFile naming the file if it is not k finite points of latent_dims
    numbers, each with a digit (-1..9), and an accuracy in [0, 1] or null."""
    path = Path(folder) / ANCHORS
    layout = _load(path).get("layout")
    if layout is None:
        return None
    try:
        points = torch.tensor(layout["points"], dtype=torch.float64)
        digits = torch.tensor(layout["digits"], dtype=torch.int64)
        accuracy = layout["accuracy"]
        share = accuracy is None or isinstance(accuracy, float) and 0 <= accuracy <= 1
        ok = (points.dim() == 2 and points.shape[1] == latent_dims and len(points) >= 2
              and bool(points.isfinite().all()) and digits.shape == points.shape[:1]
              and bool(((digits >= -1) & (digits < N_DIGITS)).all()) and share)  # fmt: skip
    except (TypeError, KeyError, ValueError, RuntimeError):
        ok = False
    if not ok:
        raise BadInputFile(
            f"{path} holds a layout that is not k >= 2 finite points of "
            f"{latent_dims} numbers with a digit each: run the train stage"
        )
    return Layout(points.float(), digits, accuracy)


def read_template_purity(folder: str | Path) -> dict[str, float]:
    """The template purity the train stage wrote into ``folder``'s anchors.json ({} for a
    variant without anchors); BadInputFile naming the file if it is not shares."""
    path = Path(folder) / ANCHORS
    purity = _load(path).get("purity") or {}
    if not isinstance(purity, dict) or not all(
        key.startswith("template_purity_") and isinstance(v, float) and (0 <= v <= 1 or v != v)
        for key, v in purity.items()
    ):  # fmt: skip
        raise BadInputFile(f"{path} holds a purity that is not shares in [0, 1]: run the "
                           "train stage")  # fmt: skip
    return purity


def _load(path: Path) -> dict:
    try:
        anchors = json.loads(path.read_text())
    except FileNotFoundError:
        raise BadInputFile(f"{path} is missing: run the train stage") from None
    except (OSError, ValueError) as err:
        reason = " ".join(str(err).split())[:80]
        raise BadInputFile(f"{path} is not an anchors file ({reason})") from None
    if not isinstance(anchors, dict) or "points" not in anchors:
        raise BadInputFile(f"{path} is not an anchors file (no points)")
    return anchors


def read_anchor_points(folder: str | Path, latent_dims: int) -> torch.Tensor | None:
    """The (10, latent_dims) anchor points the train stage wrote into ``folder``, None
    where it wrote ``null`` (a plain VAE). A missing file, or points of another shape or
    not finite where a digit is decoded, is a BadInputFile naming the file."""
    path = Path(folder) / ANCHORS
    points = _load(path)["points"]
    if points is None:
        return None
    if isinstance(points, list) and any(
        isinstance(v, bool) or v is None
        for row in points
        for v in (row if isinstance(row, list) else [row])
    ):  # fmt: skip  (torch would read true as 1.0 and null as NaN)
        raise BadInputFile(f"{path} is not an anchors file (points are not lists of numbers): "
                           "run the train stage")  # fmt: skip
    try:
        points = torch.tensor(points, dtype=torch.float64)
    except (ValueError, TypeError, OverflowError, RuntimeError) as err:
        reason = " ".join(str(err).split())[:80]
        raise BadInputFile(f"{path} is not an anchors file ({reason})") from None
    _check_points(path, points, latent_dims)
    return points.float()


def _check_points(path: Path, points: torch.Tensor, latent_dims: int) -> None:
    """(10, D) points, finite in the decoded digits' rows; a row of NaN is allowed for a
    digit that had no training image (anchorvae.method.anchors.anchor_points), inf nowhere."""
    expected = (N_DIGITS, latent_dims)
    if tuple(points.shape) != expected:
        raise BadInputFile(f"{path} holds points of shape {tuple(points.shape)}, expected "
                           f"{expected} (a point per digit): run the train stage")  # fmt: skip
    decoded = points[list(ANCHORED_DIGITS)]
    rows_ok = points.isfinite().all(dim=1) | points.isnan().all(dim=1)
    if not decoded.isfinite().all() or not rows_ok.all():
        raise BadInputFile(f"{path} holds points that are not finite numbers: run the train "
                           "stage")  # fmt: skip


def points_to_decode(
    models: str | Path, name: str, variants: Mapping[str, Anchoring], latent_dims: int,
    control: str,
) -> tuple[torch.Tensor | None, Layout | None]:  # fmt: skip
    """The (10, D) anchor points and the layout the evaluation of variant ``name`` (its
    models in folder ``models``; ``variants``: params.yaml's) decodes: its own if it is
    anchored or a CVAE; else the ``control`` variant's, which sit beside its folder (None
    when the control has none either, at anchor_rate 0 or without a membership score)."""
    own = _expected_points(Path(models), name, variants, latent_dims)
    if decodes_own_points(variants[name]):
        return own, read_layout(models, latent_dims)
    folder = Path(models).parent / control
    layout = read_layout(folder, latent_dims)  # the clusters' accuracy is the control's, not its
    layout = None if layout is None else layout._replace(accuracy=None)
    return _expected_points(folder, control, variants, latent_dims), layout


def _expected_points(
    folder: Path, name: str, variants: Mapping[str, Anchoring], dims: int
) -> torch.Tensor | None:
    points = read_anchor_points(folder, dims)
    variant = variants[name]
    own = decodes_own_points(variant)
    if own == (points is None):
        holds = "no anchor points" if own else "anchor points"
        which = ("anchored" if has_anchors(variant) else "a CVAE" if own
                 else "a plain VAE (no anchors or rate 0)")  # fmt: skip
        raise BadInputFile(f"{folder}/anchors.json holds {holds}, but variant {name} is "
                           f"{which} in params.yaml: run the train stage")  # fmt: skip
    return points
