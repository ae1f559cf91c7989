"""The one schema of params.yaml: typed, validated by pydantic, unknown keys rejected.

Every stage loads its params through params_file.load_params. A bad value raises
:class:`ParamsError` whose message is one line naming the key, the value and what is
allowed (each field's ``description``); the stage runner turns it into exit code 2.
params.yaml is the one home of every value: no field has a default here, but two:
``variants.<name>.conditional`` (false) and ``semi_supervised`` (absent), so that every
variant trained before the CVAE and M2 kept its params, and with them its models in DVC's
run cache.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from anchorvae.digits import TRAIN_IMAGES
from anchorvae.method.layouts import LAYOUTS, MEMBERSHIP_POINTS, layout_problem
from anchorvae.pipeline.fields import (
    INT32_MAX,
    NAME_PATTERN,
    RATE_MAX,
    SEED_MAX,
    ParamsError,
    Section,
    int_in,
    is_number,
    number_in,
    shown,
)
from anchorvae.pipeline.image_params import ClustersParams, TemplatesParams


class TrainParams(Section):
    epochs: int_in(1, 100_000)  # passes over the training set
    batch_size: int_in(1, INT32_MAX)  # images per Adam step
    lr: number_in(0, 10, open_low=True)  # Adam learning rate
    latent_dims: int_in(1, 1024)  # size of the latent code
    # a key of anchorvae.method.model.ARCHITECTURES (the names are repeated here so that a bad
    # one is refused before torch loads; tests/test_config.py holds them equal)
    architecture: Literal["mlp", "conv"] = Field(description="one of mlp, conv")
    # first N training images; 0 = all
    limit: int_in(0, TRAIN_IMAGES, "MNIST has 60,000 training images; 0 keeps them all")


class SemiSupervisedParams(Section):
    """M2 (anchorvae/method/m2.py): a CVAE whose classifier q(y | x) infers the labels it is
    not given; the labelled images are drawn per class by ``seed`` (the models' labelled.json)."""

    labels_per_class: int_in(1, INT32_MAX)  # labelled training images of each digit
    seed: int_in(0, SEED_MAX)  # draws them
    # the classifier's cross-entropy weight per training image: the paper's alpha = 0.1 N
    # is 0.1 here (alpha / N)
    classify_weight: number_in(0, RATE_MAX)


class VariantParams(Section):
    anchor_rate: number_in(0, RATE_MAX)  # 0 = plain VAE
    # raw: each score as it comes; standard: each shifted and scaled to mean 0 and sd 1
    # over the training images (no labels read), so that the rate sets the point's reach
    scale: Literal["raw", "standard"] = Field(description="one of raw, standard")
    # score name (a module of anchorvae/method/scores) -> its latent direction d_k: a list of
    # train.latent_dims numbers, or one number c for c (1, ..., 1) in any latent size
    anchors: dict[str, Any] = Field(
        description="a mapping from a score (one of: {scores}) to a non-zero number or list "
        "of numbers within +-1000 (a membership score, clusters or digit: a layout, axes or "
        "circle)"
    )

    @field_validator("anchors")
    @classmethod
    def _known_nonzero_directions(cls, anchors: dict, info: ValidationInfo) -> dict:
        scores = (info.context or {}).get("scores")
        if scores is not None and not set(anchors) <= set(scores):
            raise ValueError("unknown score")
        for score, direction in anchors.items():
            if isinstance(direction, str) and score in MEMBERSHIP_POINTS:
                if direction not in LAYOUTS:
                    raise ValueError("unknown layout")
                continue
            values = direction if isinstance(direction, list) else [direction]
            if not values or not all(is_number(v) for v in values):
                raise ValueError("not a number or a list of numbers")
            if all(v == 0 for v in values) or any(abs(v) > RATE_MAX for v in values):
                raise ValueError("zero or out of range")
        return {score: (d if isinstance(d, str) else [float(v) for v in d]
                        if isinstance(d, list) else float(d))
                for score, d in anchors.items()}  # fmt: skip

    @model_validator(mode="after")
    def _scale_every_score_takes(self, info: ValidationInfo) -> VariantParams:
        """A score that cannot be standardised (the label's ±1 is its point) refuses it
        here, before DVC removes any output, not in the scores stage after."""
        scales = (info.context or {}).get("scales") or {}
        for score in self.anchors:
            if score in scales and self.scale not in scales[score]:
                raise ParamsError(f"scale = {self.scale!r} is invalid: the {score} score takes "
                                  f"scale {', '.join(scales[score])} only")  # fmt: skip
        return self

    # true: a CVAE, the label one-hot into the encoder and the decoder (anchorvae/method/model.py);
    # it decodes prior samples with the label, its "known semantics" (anchorvae/method/anchors.py)
    conditional: bool = Field(False, description="true or false")
    # M2 (a mapping): a conditional variant whose labels are mostly missing; absent: labels
    # known for every image (conditional) or not used
    semi_supervised: SemiSupervisedParams | None = Field(
        None, description="a mapping of labels_per_class, seed and classify_weight"
    )

    @model_validator(mode="before")
    @classmethod
    def _no_empty_section(cls, data: Any) -> Any:
        """``semi_supervised:`` with every key commented out reads as null: a fully
        labelled CVAE would train where the file asks for M2."""
        if (
            isinstance(data, dict)
            and "semi_supervised" in data
            and data["semi_supervised"] is None
        ):
            raise ParamsError("semi_supervised is empty (null): expected a mapping of "
                              "labels_per_class, seed and classify_weight, or no key for a "
                              "fully labelled CVAE")  # fmt: skip
        return data

    @model_serializer(mode="wrap")
    def _absent_section_stays_absent(self, handler) -> dict:
        """A variant without M2 dumps without the key (null would be refused when read)."""
        data = handler(self)
        if isinstance(data, dict) and data.get("semi_supervised", 0) is None:
            del data["semi_supervised"]
        return data

    @model_validator(mode="after")
    def _semi_supervised_is_a_cvae_without_anchors(self) -> VariantParams:
        if self.semi_supervised is None:
            return self
        if not self.conditional:
            raise ParamsError("semi_supervised is invalid without conditional: true (M2 is a "
                              "CVAE whose classifier infers the missing labels): expected "
                              "conditional: true")  # fmt: skip
        if self.anchors or self.anchor_rate:
            raise ParamsError("semi_supervised is invalid with anchors (M2 is the few-label "
                              "peer of a template, not anchored): expected anchors: {} and "
                              "anchor_rate: 0")  # fmt: skip
        return self


class ClassifierParams(Section):
    epochs: int_in(1, 100_000)
    batch_size: int_in(1, INT32_MAX)
    lr: number_in(0, 10, open_low=True)
    seed: int_in(0, SEED_MAX)


class EvaluateParams(Section):
    # decoded grid is n x n, each point decoded and read for every model
    grid_size: int_in(
        2,
        100,
        "n x n decodes per model: beyond 100 the figure cannot show "
        "them and evaluation takes minutes",
    )
    sample_size: int_in(1, INT32_MAX)  # test means kept for scatters
    # the anchored variant whose points a plain VAE is read at (the same places, no pull)
    control: str = Field(description="a key of `variants`")


class Params(Section):
    templates: TemplatesParams
    clusters: ClustersParams
    train: TrainParams
    variants: dict[str, VariantParams] = Field(
        description="a mapping with at least 'baseline' (and evaluate.control's variant), "
        "names in [a-z0-9_]"
    )
    # variants that only the grids naming them train (`+variants.<name>=...` in their cells:
    # a cell's params hold them in both): references too costly for every `make repro`
    references: dict[str, VariantParams] = Field(
        description="a mapping of variant names in [a-z0-9_]"
    )
    seeds: list[int] = Field(description=f"a non-empty list of distinct integers in 0..{SEED_MAX}")
    classifier: ClassifierParams
    evaluate: EvaluateParams

    @field_validator("references")
    @classmethod
    def _names(cls, named: dict) -> dict:
        if not all(NAME_PATTERN.fullmatch(name) for name in named):
            raise ValueError("bad name")
        return named

    @field_validator("variants")
    @classmethod
    def _named_variants(cls, variants: dict) -> dict:
        if "baseline" not in variants:  # the control is checked with evaluate.control
            raise ValueError("baseline missing")
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
        for name in self.references.keys() & self.variants.keys():
            if self.references[name] != self.variants[name]:  # a grid's cell holds it in both
                raise ParamsError(f"references.{name} is invalid: a variant has that name (a "
                                  "grid adds a reference as a variant): expected a name of "
                                  "its own")  # fmt: skip
        for name, variant in {**self.variants, **self.references}.items():
            section = "variants" if name in self.variants else "references"
            self._layout_fits(f"{section}.{name}", variant)
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
        if self.evaluate.control not in self.variants:
            raise ParamsError(
                f"evaluate.control = {self.evaluate.control!r} is invalid: "
                "expected a key of variants (a grid adds a reference as one)"
            )
        return self

    def _layout_fits(self, where: str, variant: VariantParams) -> None:
        """A membership score is its variant's only anchor, takes a layout (not numbers)
        and has points enough, and the latent room for them (anchorvae/method/layouts.py)."""
        for score, direction in variant.anchors.items():
            if score not in MEMBERSHIP_POINTS:
                continue
            key = f"{where}.anchors.{score}"
            if not isinstance(direction, str):
                raise ParamsError(
                    f"{key} = {shown(direction)} is invalid: a membership score "
                    f"takes a layout, expected one of {', '.join(LAYOUTS)}"
                )
            if len(variant.anchors) > 1:
                raise ParamsError(
                    f"{where}.anchors is invalid: {score} lays out points of its "
                    "own, expected it as the variant's only anchor"
                )
            if where.startswith("references."):
                continue  # its points and room are checked where a grid adds it as a variant
            points = self.points_of(score)
            problem = layout_problem(direction, points, self.train.latent_dims)
            if problem and points < 2:
                raise ParamsError(
                    f"{key} is invalid with clusters.k = {points}: expected "
                    "clusters.k >= 2 (the clusters stage makes none at 0)"
                )
            if problem:
                raise ParamsError(f"{key} = {direction} is invalid: {problem}")

    def points_of(self, score: str) -> int:
        """How many points membership score ``score`` lays out (clusters.k, or 10)."""
        points = MEMBERSHIP_POINTS[score]
        return self.clusters.k if points == "clusters.k" else points

    def variant(self, name: str) -> VariantParams:
        """The named variant; ParamsError naming the known ones if it is absent."""
        if name not in self.variants:
            known = ", ".join(sorted(self.variants))
            raise ParamsError(f"variant = {name!r} is unknown: allowed are {known}")
        return self.variants[name]
