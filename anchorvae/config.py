"""The one schema of params.yaml: typed, validated by pydantic, unknown keys rejected.

Every stage loads its params through :func:`load_params`. A bad value raises
:class:`ParamsError` whose message is one line naming the key, the value and what is
allowed (each field's ``description``); the stage runner turns it into exit code 2.
params.yaml is the one home of every value: no field has a default here, but one:
``variants.<name>.conditional`` (false), so that every variant trained before the CVAE
kept its params, and with them its models in DVC's run cache.
"""

from __future__ import annotations

import math
import re
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)


class ParamsError(ValueError):
    """A value in params.yaml is missing, of the wrong type or out of range."""


INT32_MAX = 2**31 - 1  # torch.set_num_threads and tensor sizes take C ints
SEED_MAX = 2**32 - 1  # NumPy seeds are unsigned 32-bit
RATE_MAX = 1000.0  # anchor rates beyond this only saturate the KL
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]*")  # matched in full: `$` passes "x\n"


def _int(lo: int, hi: int) -> Any:
    return Annotated[int, Field(ge=lo, le=hi, description=f"an integer >= {lo:g} and <= {hi:g}")]


def _number(lo: float, hi: float, open_low: bool = False) -> Any:
    low = Field(gt=lo) if open_low else Field(ge=lo)
    allowed = f"a number {'>' if open_low else '>='} {lo:g} and <= {hi:g}"
    return Annotated[float, low, Field(le=hi, description=allowed)]


class Section(BaseModel):
    """Strict types (no "3" for 3, no true for 1), finite numbers, no unknown keys."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class TemplatesParams(Section):
    # post: the blog post's donut/stick geometry; class_mean: the mean 0 and mean 1
    kind: Literal["post", "class_mean"] = Field(
        description="one of post, class_mean (the old name 'seed' is now 'post')"
    )
    # class_mean only: the mean of this many training 0s and 1s, 0 = of every one
    shots: _int(0, INT32_MAX)
    seed: _int(0, SEED_MAX)  # draws the shots (recorded in data/templates/shots.json)

    @model_validator(mode="after")
    def _shots_of_class_means(self) -> TemplatesParams:
        if self.kind == "post" and self.shots:
            raise ParamsError(
                f"templates.shots = {self.shots} is invalid with templates.kind = post, whose "
                "templates read no labels: expected 0, or templates.kind = class_mean"
            )
        return self


class TrainParams(Section):
    epochs: _int(1, 100_000)  # passes over the training set
    batch_size: _int(1, INT32_MAX)  # images per Adam step
    lr: _number(0, 10, open_low=True)  # Adam learning rate
    latent_dims: _int(1, 1024)  # size of the latent code
    # a key of anchorvae.model.ARCHITECTURES (the names are repeated here so that a bad
    # one is refused before torch loads; tests/test_config.py holds them equal)
    architecture: Literal["mlp", "conv"] = Field(description="one of mlp, conv")
    limit: _int(0, INT32_MAX)  # first N training images; 0 = all


def _is_number(value: Any) -> bool:
    """A finite int or float, as the strict schema takes them (not a bool, not "1")."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


class VariantParams(Section):
    anchor_rate: _number(0, RATE_MAX)  # 0 = plain VAE
    # raw: each score as it comes; standard: each shifted and scaled to mean 0 and sd 1
    # over the training images (no labels read), so that the rate sets the point's reach
    scale: Literal["raw", "standard"] = Field(description="one of raw, standard")
    # score name (a module of anchorvae/scores) -> its latent direction d_k: a list of
    # train.latent_dims numbers, or one number c for c (1, ..., 1) in any latent size
    anchors: dict[str, Any] = Field(
        description="a mapping from a score (one of: {scores}) to a non-zero number or list "
        "of numbers within +-1000"
    )

    @field_validator("anchors")
    @classmethod
    def _known_nonzero_directions(cls, anchors: dict, info: ValidationInfo) -> dict:
        scores = (info.context or {}).get("scores")
        if scores is not None and not set(anchors) <= set(scores):
            raise ValueError("unknown score")
        for direction in anchors.values():
            values = direction if isinstance(direction, list) else [direction]
            if not values or not all(_is_number(v) for v in values):
                raise ValueError("not a number or a list of numbers")
            if all(v == 0 for v in values) or any(abs(v) > RATE_MAX for v in values):
                raise ValueError("zero or out of range")
        return {score: ([float(v) for v in d] if isinstance(d, list) else float(d))
                for score, d in anchors.items()}  # fmt: skip

    # true: a CVAE, the label one-hot into the encoder and the decoder (anchorvae/model.py);
    # it decodes prior samples with the label, its "known semantics" (anchorvae/anchors.py)
    conditional: bool = Field(False, description="true or false")


class ClassifierParams(Section):
    epochs: _int(1, 100_000)
    batch_size: _int(1, INT32_MAX)
    lr: _number(0, 10, open_low=True)
    seed: _int(0, SEED_MAX)


class EvaluateParams(Section):
    grid_size: _int(2, 1000)  # decoded grid is n x n
    sample_size: _int(1, INT32_MAX)  # test means kept for scatters


KEY_PATTERN = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")


class GridParams(Section):
    """A question asked across trained models (`make grid NAME=<name>`): each cell is one
    queued DVC experiment, the workspace's params with the cell's axis values set."""

    # params key -> its values: each cell sets one value of each axis
    axes: dict[str, list[Any]] = Field(
        description="a mapping from a params key (e.g. train.latent_dims) to a non-empty list "
        "of distinct values (numbers, names, true or false); {} = one cell, the workspace's params"
    )
    # false: each axis varied alone from params.yaml's own values; true: every combination
    factorial: bool = Field(description="true or false")
    variants: list[str] = Field(
        min_length=1,
        description="a non-empty list of distinct keys of `variants` or `references`, with "
        "baseline",
    )
    # seeds 0..seeds-1 of every cell, one `-S seeds=[...]` argument: Linux takes at most
    # 128 KiB in one argument, which 10,000 seeds fit (about 49 KiB) and 30,000 do not
    seeds: _int(2, 10_000)
    jobs: _int(1, 64)  # experiments run at once (each uses every core already)
    # the report's table columns and figure panels, keys of anchorvae/metrics.py METRICS
    metrics: list[str] = Field(
        min_length=1, description="a non-empty list of metric keys (anchorvae/metrics.py)"
    )
    # metrics: a panel per metric, the cells along x; centroids: every seed's digit
    # centroids, a panel per cell and variant
    figure: Literal["metrics", "centroids"] = Field(description="one of metrics, centroids")

    @field_validator("axes")
    @classmethod
    def _keys_and_distinct_values(cls, axes: dict) -> dict:
        for key, values in axes.items():
            if not KEY_PATTERN.fullmatch(key) or key == "seeds" or key.startswith("grids."):
                raise ValueError("bad key")
            if not all(isinstance(v, (str, bool)) or _is_number(v) for v in values):
                raise ValueError("not a scalar")
            if not values or len(set(values)) != len(values):
                raise ValueError("empty or repeated")  # a value twice: a cell run twice
        return axes

    @field_validator("variants", "metrics")
    @classmethod
    def _distinct(cls, values: list) -> list:
        if len(set(values)) != len(values):
            raise ValueError("repeated")
        return values


class Params(Section):
    templates: TemplatesParams
    train: TrainParams
    variants: dict[str, VariantParams] = Field(
        description="a mapping with at least 'baseline' and 'anchored', names in [a-z0-9_]"
    )
    # variants that only the grids naming them train (`+variants.<name>=...` in their cells:
    # a cell's params hold them in both): references too costly for every `make repro`
    references: dict[str, VariantParams] = Field(
        description="a mapping of variant names in [a-z0-9_]"
    )
    seeds: list[int] = Field(description=f"a non-empty list of distinct integers in 0..{SEED_MAX}")
    classifier: ClassifierParams
    evaluate: EvaluateParams
    # the questions asked across many trained models, read by `make grid` only
    grids: dict[str, GridParams] = Field(description="a mapping of grid names in [a-z0-9_]")

    @field_validator("grids", "references")
    @classmethod
    def _names(cls, named: dict) -> dict:
        if not all(NAME_PATTERN.fullmatch(name) for name in named):
            raise ValueError("bad name")
        return named

    @field_validator("variants")
    @classmethod
    def _named_variants(cls, variants: dict) -> dict:
        if not {"baseline", "anchored"} <= variants.keys():
            raise ValueError("baseline or anchored missing")
        if not all(NAME_PATTERN.fullmatch(name) for name in variants):
            raise ValueError("bad name")
        return variants

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, seeds: list[int]) -> list[int]:
        if not seeds or len(set(seeds)) != len(seeds):
            raise ValueError("empty or repeated")
        if not all(0 <= s <= SEED_MAX for s in seeds):
            raise ValueError("out of range")
        return seeds

    @model_validator(mode="after")
    def _directions_fit(self) -> Params:
        """Rules that tie one key to another (a ParamsError: its message is kept whole)."""
        dims = self.train.latent_dims
        for name, variant in {**self.variants, **self.references}.items():
            section = "variants" if name in self.variants else "references"
            for score, direction in variant.anchors.items():
                if isinstance(direction, list) and len(direction) != dims:
                    raise ParamsError(
                        f"{section}.{name}.anchors.{score} = {direction} is invalid: expected "
                        f"{dims} numbers, one per latent dimension (train.latent_dims = {dims}), "
                        "or one number c for c (1, ..., 1)"
                    )
            if variant.anchor_rate > 0 and not variant.anchors:
                raise ParamsError(
                    f"{section}.{name}.anchor_rate = {variant.anchor_rate} is invalid: a variant "
                    "with no anchors is the plain VAE, expected 0"
                )
        return self

    def variant(self, name: str) -> VariantParams:
        """The named variant; ParamsError naming the known ones if it is absent."""
        if name not in self.variants:
            known = ", ".join(sorted(self.variants))
            raise ParamsError(f"variant = {name!r} is unknown: allowed are {known}")
        return self.variants[name]


def _walk(model: type[BaseModel], loc: tuple) -> tuple[Any, Any]:
    """(FieldInfo of the last named field on ``loc``, the type found at its end)."""
    info, current = None, model
    parts = list(loc)
    while parts:
        part = parts.pop(0)
        fields = getattr(current, "model_fields", None)
        if not isinstance(part, str) or fields is None or part not in fields:
            break
        info = fields[part]
        current = info.annotation
        if typing.get_origin(current) is dict:  # a named entry: skip its key
            value = typing.get_args(current)[1]
            if hasattr(value, "model_fields") and parts:
                parts.pop(0)
                current = value
    return info, current


SHOWN_CHARS = 60  # a value longer than this is cut in a message (a 400-digit number)
KEY_CHARS = 40  # and a key


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def key_of(loc: tuple) -> str:
    """("sweep", "rates", 1) -> "sweep.rates[1]"."""
    key = ""
    for part in loc:
        text = str(part) if len(str(part)) <= KEY_CHARS else str(part)[: KEY_CHARS - 1] + "…"
        key += f"[{text}]" if isinstance(part, int) else f".{text}" if key else text
    return key


def one_line(err: ValidationError, model: type[BaseModel], scores: tuple[str, ...] = ()) -> str:
    """The first error of ``err`` as one line naming the key, the value and what is allowed."""
    first = err.errors()[0]
    loc, kind = first["loc"], first["type"]
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, ParamsError):  # a rule across keys wrote its own message
        return str(cause)
    key = key_of(loc)
    info, _ = _walk(model, loc)
    if kind == "missing":
        return f"{key} is missing: every key must be stated in params.yaml"
    if kind == "extra_forbidden":
        _, parent = _walk(model, loc[:-1])  # the section the key was found in
        allowed = ", ".join(parent.model_fields)
        return f"{key} is an unknown key: allowed are {allowed}"
    if info is None or info.description is None:
        return f"{key} = {_shown(first['input'])} is invalid: expected {_kind_of(kind)}"
    allowed = info.description.replace("{scores}", ", ".join(scores) or "see anchorvae/scores")
    return f"{key} = {_shown(first['input'])} is invalid: expected {allowed}"


def _kind_of(error_type: str) -> str:
    """What a value of a structural error should have been (a mapping where a section is)."""
    return "a mapping" if error_type in ("model_type", "dict_type") else "a valid value"


def parse_params(raw: Any, scores: tuple[str, ...] | None = None) -> Params:
    """Validate a params mapping (as loaded from YAML) into :class:`Params`; with
    ``scores``, every anchor must name one of them."""
    if not isinstance(raw, dict):
        raise ParamsError(f"params = {raw!r} is invalid: expected a mapping at the top level")
    context = {"scores": scores} if scores is not None else {}
    try:
        return Params.model_validate(raw, context=context)
    except ValidationError as err:
        raise ParamsError(one_line(err, Params, scores or ())) from None


class ParamsLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key given twice in a mapping, or a key that is not
    a name, is an error (PyYAML would keep the last one silently), and that every float
    YAML 1.2 reads is a float: `dvc exp run -S train.lr=0.00005` writes ``5e-05``, which
    YAML 1.1 (PyYAML) would read as a string."""

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                raise ParamsError(
                    f"{_shown(key)} (line {line}) is not a valid key: keys are names"
                )
            if key in seen:
                raise ParamsError(f"{key} is given twice (lines {seen[key]} and {line}): keep one")
            seen[key] = line
        return super().construct_mapping(node, deep)


# YAML 1.2's floats without a dot (5e-05, 1E3) that YAML 1.1 leaves as strings.
ParamsLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def load_params(path: str | Path = "params.yaml", scores: tuple[str, ...] | None = None) -> Params:
    """Read and validate params.yaml (see :func:`parse_params` for ``scores``)."""
    path = Path(path)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=ParamsLoader)  # noqa: S506 (a safe loader)
    except OSError as err:
        raise ParamsError(f"{path}: cannot be read ({err.strerror})") from None
    except UnicodeDecodeError as err:
        raise ParamsError(
            f"{path}: is not UTF-8 text (byte {err.object[err.start]:#04x} at offset {err.start})"
        ) from None
    except yaml.YAMLError as err:
        raise ParamsError(f"{path}: is not valid YAML ({str(err).splitlines()[0]})") from None
    except ParamsError as err:
        raise ParamsError(f"{path}: {err}") from None
    except ValueError as err:  # Python refuses an integer of over 4,300 digits
        reason = " ".join(str(err).split())[:120]
        raise ParamsError(f"{path}: holds a value that cannot be read ({reason})") from None
    return parse_params(raw, scores)
