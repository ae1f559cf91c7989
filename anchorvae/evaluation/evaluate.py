"""Evaluate every trained seed of a variant at once: placement, decoded grid, cost in fit.

The seeds' VAEs run as one stacked ensemble (the trainer's, anchorvae/training/ensemble.py), over
the test images in large batches; the classifier reads every member's reconstructions
and decoded grid in large batches too. Sums stay on the device and the results go to
the host once, then each model's metrics are taken from its slice. A CVAE is given each
test image's label to encode and decode it, and the intended digit's label to decode its
anchor samples (prior samples: its points are the origin); it decodes no grid, which
would need one label for every cell. M2 is read as a CVAE, and its own classifier's test
accuracy beside.
"""

from __future__ import annotations

import torch

from anchorvae.artifacts.evaluations import Evaluation, LayoutDecodes
from anchorvae.digits import ANCHORED_DIGITS, SIDE
from anchorvae.evaluation.placement import (
    corner_fractions,
    digit_centroids,
    grid_purity,
    is_aligned,
    is_placed,
    normal_grid,
    side_fractions,
)
from anchorvae.method.anchors import Layout, anchor_distance
from anchorvae.method.loss import kl_to_standard_normal
from anchorvae.method.model import one_hot
from anchorvae.training.ensemble import Ensemble

SAMPLE_SEED = 0  # the latent-sample subset is the same for every model, for comparison
ANCHOR_SAMPLES = 256  # codes drawn from N(anchor point, I) per anchored digit
ANCHOR_SEED = 0  # the same draws for every model: a difference is the models'
POINT_SAMPLES = 8  # images kept per layout point for its figure: the point, then samples
MEMBER_IMAGES = 2**19  # members x images per batch: about 1.6 GB of float32 reconstructions
# Images the classifier reads at once: on the 2-core CPU 2048 took 1.8 s for 40,000
# images against 2.3 s at 4096 (cache-sized); a GPU wants as many as fit (not measured).
CLASSIFY_BATCH = {"cpu": 2048, "cuda": 32768}


def _fit(model, x: torch.Tensor, *y) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One member on x (B, pixels) (and a CVAE's labels y (B, classes)): means (B, D),
    reconstructions of the means (B, pixels) and [summed squared error, summed KL to
    N(0, I)]: deterministic, no noise drawn."""
    mu, logvar = model.encode(x, *y)
    recon = model.decode(mu, *y)
    sums = torch.stack([torch.sum((recon - x) ** 2), kl_to_standard_normal(mu, logvar)])
    return mu, recon, sums


def _classify(classifier, images: torch.Tensor) -> torch.Tensor:
    """(..., pixels) -> (...) predicted digits, on the images' device."""
    flat = images.reshape(-1, images.shape[-1])
    batch = CLASSIFY_BATCH.get(images.device.type, CLASSIFY_BATCH["cpu"])
    labels = [classifier(chunk).argmax(dim=1) for chunk in flat.split(batch)]
    return torch.cat(labels).reshape(images.shape[:-1])


def _members(ensemble: Ensemble, *tensors: torch.Tensor | None) -> list[torch.Tensor]:
    """Each given tensor (B, ...) on the ensemble's device, the same for every member
    (K, B, ...); None (a VAE's absent condition) left out."""
    k, device = ensemble.size, ensemble.device
    return [t.to(device).expand(k, *t.shape) for t in tensors if t is not None]


@torch.no_grad()
def fit_and_read(
    ensemble: Ensemble, classifier, images: torch.Tensor, conditions: torch.Tensor | None = None
) -> tuple:
    """Per member: (sums (K, 2) float64, means (K, N, D), reconstructions read (K, N)),
    on the ensemble's device; a CVAE's ``conditions`` (N, classes). The KL is to N(0, I)
    without anchoring: the same yardstick for every variant."""
    k, device = ensemble.size, ensemble.device
    sums = torch.zeros(k, 2, dtype=torch.float64, device=device)
    means, read = [], []
    chunk = max(1, MEMBER_IMAGES // k)
    x_chunks = images.split(chunk)
    y_chunks = [None] * len(x_chunks) if conditions is None else conditions.split(chunk)
    for x, y in zip(x_chunks, y_chunks, strict=True):
        mu, recon, batch_sums = ensemble.map(_fit, *_members(ensemble, x, y))
        sums += batch_sums.double()
        means.append(mu)
        read.append(_classify(classifier, recon))
    return sums, torch.cat(means, dim=1), torch.cat(read, dim=1)


@torch.no_grad()
def own_label_accuracy(ensemble: Ensemble, images: torch.Tensor, labels: torch.Tensor):
    """(K,) the share of test images each member's own classifier q(y | x) (M2's) reads
    as their digit."""
    right = torch.zeros(ensemble.size, dtype=torch.float64)
    chunk = max(1, MEMBER_IMAGES // ensemble.size)
    for x, y in zip(images.split(chunk), labels.split(chunk), strict=True):
        read = ensemble.map(lambda model, x: model.classify(x).argmax(-1), *_members(ensemble, x))
        right += (read.cpu() == y).sum(dim=1)
    return right / len(images)


@torch.no_grad()
def decoded_grids(ensemble: Ensemble, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(codes (n, n, 2), images (K, n, n, pixels)) decoded at standard-normal quantiles."""
    codes = normal_grid(n)
    flat = codes.reshape(1, -1, 2).expand(ensemble.size, -1, -1).to(ensemble.device)
    images = ensemble.map(lambda model, z: model.decode(z), flat)  # (K, n*n, pixels)
    return codes, images.reshape(ensemble.size, n, n, -1)


def anchor_codes(points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(codes (A * (1 + ANCHOR_SAMPLES), D), their intended digits): the anchored digits'
    points of ``points`` (10, D), then ANCHOR_SAMPLES draws from N(point, I) around each."""
    digits = torch.tensor(ANCHORED_DIGITS)
    centres = points[digits]  # (A, D)
    g = torch.Generator().manual_seed(ANCHOR_SEED)
    noise = torch.randn(len(digits), ANCHOR_SAMPLES, centres.shape[1], generator=g)
    codes = torch.cat([centres, (centres[:, None] + noise).flatten(0, 1)])
    return codes, torch.cat([digits, digits.repeat_interleave(ANCHOR_SAMPLES)])


@torch.no_grad()
def anchor_reads(
    ensemble: Ensemble, classifier, points: torch.Tensor, classes: int = 0
) -> dict[str, torch.Tensor]:
    """Per member (K,): the share of the anchored digits whose anchor point decodes to an
    image read as that digit, and the same share over the samples around the points. A
    CVAE (``classes`` > 0) decodes each code with its intended digit's one-hot label. And
    how far out those points lie (the same for every member)."""
    codes, intended = anchor_codes(points)
    y = one_hot(intended, classes)
    decoded = ensemble.map(lambda model, *zy: model.decode(*zy), *_members(ensemble, codes, y))
    right = (_classify(classifier, decoded).cpu() == intended).float()  # (K, codes)
    n = len(ANCHORED_DIGITS)
    distance = torch.full((ensemble.size,), anchor_distance(points), dtype=torch.float64)
    return {"anchor_point_read": right[:, :n].mean(1), "anchor_decode": right[:, n:].mean(1),
            "anchor_distance": distance}  # fmt: skip


def layout_codes(layout: Layout) -> tuple[torch.Tensor, torch.Tensor]:
    """(codes (k, ANCHOR_SAMPLES, D), the digit of each point (k,)): ANCHOR_SAMPLES draws
    from N(point, I) around each of the layout's k points, as anchor_decode draws them."""
    g = torch.Generator().manual_seed(ANCHOR_SEED)
    noise = torch.randn(*layout.points.shape[:1], ANCHOR_SAMPLES, layout.points.shape[1],
                        generator=g)  # fmt: skip
    return layout.points.float()[:, None] + noise, layout.digits


@torch.no_grad()
def layout_reads(
    ensemble: Ensemble, classifier, layout: Layout, classes: int = 0
) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    """Per member (K,): the point metrics of a layout's k points (a CVAE's: each with its
    digit's label), what each member draws at each point ((K, k, POINT_SAMPLES, pixels):
    the point, then samples), and each point's read (K, k)."""
    codes, digits = layout_codes(layout)
    k, samples = codes.shape[:2]
    y = one_hot(digits.clamp_min(0).repeat_interleave(samples), classes)
    flat = codes.reshape(k * samples, -1)
    decoded = ensemble.map(lambda model, *zy: model.decode(*zy), *_members(ensemble, flat, y))
    read = _classify(classifier, decoded).cpu().reshape(-1, k, samples)  # (K, k, samples)
    metrics = point_metrics(read, digits)
    if layout.accuracy is not None:
        metrics["cluster_accuracy"] = torch.full((ensemble.size,), layout.accuracy)
    centres = ensemble.map(lambda model, *zy: model.decode(*zy),
                           *_members(ensemble, layout.points.float(),
                                     one_hot(digits.clamp_min(0), classes)))  # fmt: skip
    shown = decoded.reshape(ensemble.size, k, samples, -1)[:, :, : POINT_SAMPLES - 1].cpu()
    pictures = torch.cat([centres.cpu()[:, :, None], shown], dim=2)
    return metrics, pictures, (read == digits[None, :, None]).double().mean(dim=2)


def point_metrics(read: torch.Tensor, digits: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per member, from the digits read (K, k, samples) around k points standing for
    ``digits`` (k,): the mean and the lowest point read; ``digits_covered``, the distinct
    digits that some point draws mostly (its most read digit); ``same_points``, whether
    every point mostly draws its own digit (then, as the digits are the clusters', the
    same on every seed)."""
    right = (read == digits[None, :, None]).double().mean(dim=2)  # (K, k)
    mostly = read.mode(dim=2).values  # (K, k)
    covered = torch.tensor([len(set(row.tolist())) for row in mostly], dtype=torch.float64)
    same = (mostly == digits[None]).all(dim=1)
    return {"point_read": right.mean(dim=1), "point_read_min": right.min(dim=1).values,
            "digits_covered": covered, "same_points": same}  # fmt: skip


@torch.no_grad()
def point_images(ensemble: Ensemble, points: torch.Tensor, classes: int = 0) -> torch.Tensor:
    """(K, A, pixels): what each member draws at the anchored digits' points (a CVAE: with
    the digit's label), the pictures of a grid's semantics figure."""
    digits = torch.tensor(ANCHORED_DIGITS)
    y = one_hot(digits, classes)
    members = _members(ensemble, points[digits], y)
    return ensemble.map(lambda model, *zy: model.decode(*zy), *members).cpu()


def evaluate_seeds(
    vaes: list, classifier, images: torch.Tensor, labels: torch.Tensor, grid_size: int,
    sample_size: int, device: torch.device, points: torch.Tensor | None = None,
    layout: Layout | None = None,
) -> list[Evaluation]:  # fmt: skip
    """Every per-model number of each VAE (trained seeds of one variant), in their order;
    grid metrics are absent (not 0) unless latent_dims = 2 and the VAE is no CVAE, anchor
    reads unless the anchor ``points`` (10, D) are given (anchorvae/method/anchors.py)."""
    ensemble = Ensemble([vae.eval() for vae in vaes], device)
    classifier = classifier.to(device).eval()
    classes = vaes[0].config.classes
    conditions = one_hot(labels, classes)
    sums, means, read = (t.cpu() for t in fit_and_read(ensemble, classifier, images, conditions))
    sums /= len(images)  # per image
    grids: list = [None] * ensemble.size  # per member: (codes, cells read, cell images)
    if means.shape[-1] == 2 and conditions is None:
        codes, decoded = decoded_grids(ensemble, grid_size)
        cells_read, decoded = _classify(classifier, decoded).cpu(), decoded.cpu()
        grids = [(codes, cells_read[i], decoded[i]) for i in range(ensemble.size)]
    reads = {} if points is None else anchor_reads(ensemble, classifier, points, classes)
    if vaes[0].config.semi_supervised:
        reads["own_label_accuracy"] = own_label_accuracy(ensemble, images, labels)
    pictures = None if points is None else point_images(ensemble, points, classes)
    layout_pictures = None
    if layout is not None:
        layout_metrics, layout_pictures, layout_read = layout_reads(
            ensemble, classifier, layout, classes
        )
        reads.update(layout_metrics)
    subset = torch.randperm(len(images), generator=torch.Generator().manual_seed(SAMPLE_SEED))
    subset = subset[:sample_size]
    evaluations = []
    for i in range(ensemble.size):
        evaluation = _evaluation(means[i], sums[i], read[i], labels, grids[i], subset)
        evaluation.metrics.update({key: value[i].item() for key, value in reads.items()})
        if layout_pictures is not None:
            evaluation.layout = LayoutDecodes(layout.digits, layout_read[i], layout_pictures[i])
        if pictures is not None:
            evaluation.anchor_images = pictures[i].reshape(len(ANCHORED_DIGITS), SIDE, SIDE)
        evaluations.append(evaluation)
    return evaluations


def _evaluation(means, sums, read, labels, grid, subset) -> Evaluation:
    """One model's Evaluation from its slices: means (N, D), per-image [SSE, KL], its
    reconstructions read (N,), and (codes, grid read, grid images) or None."""
    centroids = digit_centroids(means, labels)
    metrics = {
        **corner_fractions(means, labels),
        "placed": is_placed(centroids),
        **side_fractions(means, labels),
        "aligned": is_aligned(centroids),
        "test_recon": sums[0].item(),
        "test_kl": sums[1].item(),
        "recon_accuracy": (read == labels).float().mean().item(),
    }
    grid_images = None
    if grid is not None:
        codes, predicted, decoded = grid
        metrics.update(grid_purity(codes, predicted))
        grid_images = decoded.reshape(*predicted.shape, 28, 28)
    return Evaluation(metrics, centroids, means[subset], labels[subset], grid_images)
