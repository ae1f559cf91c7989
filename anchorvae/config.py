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


def _between(lo: float, hi: float, kind: str = "an integer", open_low: bool = False) -> dict:
    """lo <= v <= hi (lo < v when ``open_low``); NaN and infinities fail every bound."""
    low = f"> {lo:g}" if open_low else f">= {lo:g}"
    return _rule(
        lambda v: (lo < v if open_low else lo <= v) and v <= hi,
        f"{kind} {low} and <= {hi:g}",
    )


def _each_between(lo: float, hi: float) -> dict:
    """A non-empty list whose every number lies in [lo, hi], whatever the order."""
    return _rule(
        lambda v: len(v) > 0 and all(lo <= x <= hi for x in v),
        f"a non-empty list of numbers >= {lo:g} and <= {hi:g}",
    )


INT32_MAX = 2**31 - 1  # torch.set_num_threads and tensor sizes take C ints
SEED_MAX = 2**32 - 1  # NumPy seeds are unsigned 32-bit
RATE_MAX = 1000.0  # anchor rates beyond this only saturate the KL
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class TemplatesParams:
    # post: the blog post's donut/stick geometry; class_mean: the mean 0 and mean 1
    kind: str = field(
        metadata=_rule(
            lambda v: v in ("post", "class_mean"),
            "one of post, class_mean (the old name 'seed' is now 'post')",
        )
    )


@dataclass(frozen=True)
class TrainParams:
    epochs: int = field(metadata=_between(1, 100_000))  # passes over the training set
    batch_size: int = field(metadata=_between(1, INT32_MAX))  # images per Adam step
    lr: float = field(metadata=_between(0, 10, "a number", open_low=True))  # Adam learning rate
    latent_dims: int = field(metadata=_between(1, 1024))  # size of the latent code
    limit: int = field(metadata=_between(0, INT32_MAX))  # first N training images; 0 = all


def _score_names() -> tuple[str, ...]:
    from anchorvae.loss import SCORES  # the one list of anchoring scores

    return tuple(SCORES)


def _check_anchors(anchors: dict[str, list[float]]) -> bool:
    return set(anchors) <= set(_score_names()) and all(
        len(d) > 0 and all(abs(v) <= RATE_MAX for v in d) and any(v != 0 for v in d)
        for d in anchors.values()
    )


@dataclass(frozen=True)
class VariantParams:
    anchor_rate: float = field(metadata=_between(0, RATE_MAX, "a number"))  # 0 = plain VAE
    # score name (see loss.SCORES) -> its latent direction d_k; {} for the plain VAE
    anchors: dict[str, list[float]] = field(
        metadata=_rule(
            _check_anchors,
            "a mapping from a score (one of: {scores}) to a non-zero list of numbers "
            "within +-1000",
        )
    )


@dataclass(frozen=True)
class ClassifierParams:
    epochs: int = field(metadata=_between(1, 100_000))
    batch_size: int = field(metadata=_between(1, INT32_MAX))
    lr: float = field(metadata=_between(0, 10, "a number", open_low=True))
    seed: int = field(metadata=_between(0, SEED_MAX))


@dataclass(frozen=True)
class EvaluateParams:
    grid_size: int = field(metadata=_between(2, 1000))  # decoded grid is n x n
    sample_size: int = field(metadata=_between(1, INT32_MAX))  # test means kept for scatters


@dataclass(frozen=True)
class StudyParams:
    # `make study` trains every variant on seeds 0..seeds_per_variant-1
    seeds_per_variant: int = field(metadata=_between(2, 100_000))


@dataclass(frozen=True)
class SweepParams:
    # anchor_rate of each queued experiment of `make sweep` (the anchored variant only)
    rates: list[float] = field(metadata=_each_between(0, RATE_MAX))
    jobs: int = field(metadata=_between(1, 64))  # experiments run at once


def _check_seeds(seeds: list[int]) -> bool:
    return (
        len(seeds) > 0 and len(set(seeds)) == len(seeds) and all(0 <= s <= SEED_MAX for s in seeds)
    )


def _check_variants(variants: dict) -> bool:
    return {"baseline", "anchored"} <= variants.keys() and all(
        NAME_PATTERN.match(name) for name in variants
    )


@dataclass(frozen=True)
class Params:
    templates: TemplatesParams
    train: TrainParams
    variants: dict[str, VariantParams] = field(
        metadata=_rule(
            _check_variants,
            "a mapping with at least 'baseline' and 'anchored', names in [a-z0-9_]",
        ),
    )
    seeds: list[int] = field(
        metadata=_rule(_check_seeds, f"a non-empty list of distinct integers in 0..{SEED_MAX}"),
    )
    classifier: ClassifierParams
    evaluate: EvaluateParams
    study: StudyParams
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


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key given twice in a mapping is an error
    (PyYAML would keep the last one silently)."""

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ParamsError(f"{key} is given twice (lines {seen[key]} and {line}): keep one")
            seen[key] = line
        return super().construct_mapping(node, deep)


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate params.yaml."""
    path = Path(path)
    try:
        raw = yaml.load(path.read_text(), Loader=_UniqueKeyLoader)  # noqa: S506 (a safe loader)
    except OSError as err:
        raise ParamsError(f"{path}: cannot be read ({err.strerror})") from None
    except yaml.YAMLError as err:
        raise ParamsError(f"{path}: is not valid YAML ({str(err).splitlines()[0]})") from None
    except ParamsError as err:
        raise ParamsError(f"{path}: {err}") from None
    return parse_params(raw)
