import math

import numpy as np
import pytest
import torch

from anchorvae.evaluation.placement import (
    corner_fractions,
    digit_centroids,
    grid_purity,
    is_placed,
    normal_grid,
)
from anchorvae.evaluation.seed_stats import (
    chance_majority_share,
    chance_resultant_length,
    exact_interval,
    mean_resultant_length,
    rayleigh_p_value,
    side_of_axis,
)
from anchorvae.evaluation.summary import summarize_variant


def test_all_zeros_at_minus_one_and_ones_at_plus_one():
    means = torch.tensor([[-1.0, -1.0], [-1.0, -1.0], [1.0, 1.0], [0.5, 2.0]])
    labels = torch.tensor([0, 0, 1, 1])
    assert corner_fractions(means, labels) == {"zeros_in_corner": 1.0, "ones_in_corner": 1.0}
    assert is_placed(digit_centroids(means, labels))


def test_partial_fractions_and_orthant_spans_every_dimension():
    means = torch.tensor(
        [[-1.0, -1.0, -1.0], [-1.0, -1.0, 0.5], [1.0, 1.0, 1.0], [1.0, -1.0, 1.0]]
    )
    labels = torch.tensor([0, 0, 1, 1])
    assert corner_fractions(means, labels) == {"zeros_in_corner": 0.5, "ones_in_corner": 0.5}


def test_swapped_corners_are_not_placed():
    means = torch.tensor([[1.0, 1.0], [-1.0, -1.0]])
    labels = torch.tensor([0, 1])
    assert corner_fractions(means, labels) == {"zeros_in_corner": 0.0, "ones_in_corner": 0.0}
    assert not is_placed(digit_centroids(means, labels))


def test_centroids_are_per_digit_means_and_nan_when_absent():
    means = torch.tensor([[0.0, 2.0], [2.0, 0.0], [5.0, 5.0]])
    labels = torch.tensor([0, 0, 3])
    c = digit_centroids(means, labels)
    assert c.shape == (10, 2)
    assert c[0].tolist() == [1.0, 1.0]
    assert c[3].tolist() == [5.0, 5.0]
    assert torch.isnan(c[1]).all()


def test_normal_grid_is_symmetric_quantiles_with_rows_first():
    grid = normal_grid(5)
    assert grid.shape == (5, 5, 2)
    assert grid[0, 0].tolist() == pytest.approx([-1.6449, -1.6449], abs=1e-3)
    assert grid[4, 0, 0].item() == pytest.approx(1.6449, abs=1e-3)  # rows: first dim
    assert grid[0, 4, 1].item() == pytest.approx(1.6449, abs=1e-3)  # columns: second dim
    assert grid[2, 2].tolist() == pytest.approx([0.0, 0.0], abs=1e-6)


def test_grid_purity_on_known_quarters():
    grid = normal_grid(4)  # no zero row: 2x2 cells per quarter
    predicted = torch.full((4, 4), 7)
    predicted[:2, :2] = torch.tensor([[0, 0], [0, 5]])  # (-,-) quarter: 3 of 4 zeros
    predicted[2:, 2:] = 1  # (+,+) quarter: all ones
    assert grid_purity(grid, predicted) == {"grid_zero_purity": 0.75, "grid_one_purity": 1.0}


def test_grid_purity_ignores_the_zero_row_and_column():
    grid = normal_grid(3)  # only cells [0,0] and [2,2] are in the quarters
    predicted = torch.tensor([[0, 9, 9], [9, 9, 9], [9, 9, 1]])
    assert grid_purity(grid, predicted) == {"grid_zero_purity": 1.0, "grid_one_purity": 1.0}


def test_normal_grid_needs_two_dimensions():
    with pytest.raises(ValueError):
        normal_grid(5, latent_dims=3)


def test_mean_resultant_length_same_and_opposite_directions():
    assert mean_resultant_length(torch.tensor([[1.0, 1.0], [3.0, 3.0]])) == pytest.approx(1.0)
    assert mean_resultant_length(torch.tensor([[1.0, 0.0], [-2.0, 0.0]])) == pytest.approx(0.0)
    square = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    assert mean_resultant_length(square) == pytest.approx(0.0, abs=1e-7)


def test_chance_level_matches_known_values_and_is_deterministic():
    # Two random 2-D unit vectors: E|u1 + u2| / 2 = E|cos(theta/2)| = 2/pi.
    assert chance_resultant_length(2, 2) == pytest.approx(2 / math.pi, abs=0.01)
    assert chance_resultant_length(1, 2) == pytest.approx(1.0)
    assert chance_resultant_length(5, 2) == chance_resultant_length(5, 2)
    # Many directions: about sqrt(pi / (4 n)) in 2-D (Rayleigh).
    assert chance_resultant_length(50, 2) == pytest.approx(math.sqrt(math.pi / 200), rel=0.05)


def model_metrics(placed: bool, share: float) -> dict:
    return {
        "placed": placed,
        "aligned": placed,
        "zeros_in_corner": share,
        "ones_in_corner": share,
        "test_recon": 30.0,
        "test_kl": 5.0,
        "recon_accuracy": 0.9,
    }


def repeated_arrangement(n: int) -> torch.Tensor:
    """(n, 10, 2): the same ten centroids (0s at (-1,-1), 1s at (1,1)) on every seed,
    each seed at its own scale."""
    angles = torch.linspace(0, 2 * math.pi, 11)[:-1] + 1.0
    base = torch.stack([angles.cos(), angles.sin()], dim=1)
    base[0], base[1] = torch.tensor([-1.0, -1.0]), torch.tensor([1.0, 1.0])
    return torch.stack([base * (1 + s / n) for s in range(n)])


def random_arrangement(n: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 10, 2, generator=torch.Generator().manual_seed(seed))


def test_summarize_variant_counts_shares_and_spreads():
    metrics = [model_metrics(True, 1.0), model_metrics(False, 0.5), model_metrics(True, 0.0)]
    summary = summarize_variant(metrics, repeated_arrangement(3))
    assert summary["placed_rate"] == pytest.approx(2 / 3)
    assert summary["placed_count"] == 2
    assert summary["aligned_count"] == 2 and summary["aligned_ci_high"] < 1
    assert summary["zeros_in_corner"]["mean"] == pytest.approx(0.5)
    assert summary["zeros_in_corner"]["median"] == pytest.approx(0.5)
    assert summary["zeros_in_corner"]["p5"] == pytest.approx(0.05)  # linear between 0 and .5
    assert summary["zeros_in_corner"]["min"] == 0.0
    assert summary["test_kl"]["std"] == 0.0
    assert summary["test_kl"]["ci_low"] == summary["test_kl"]["ci_high"] == 5.0
    assert "grid_zero_purity" not in summary  # absent, not 0
    assert 0 < summary["stability_by_chance"] < 1


def test_clopper_pearson_interval_matches_closed_forms():
    # k = 0: upper bound 1 - (alpha/2)^(1/n); k = n: lower bound (alpha/2)^(1/n)
    assert exact_interval(0, 6) == pytest.approx((0.0, 1 - 0.025 ** (1 / 6)))
    assert exact_interval(6, 6) == pytest.approx((0.025 ** (1 / 6), 1.0))
    low, high = exact_interval(50, 100)
    assert low == pytest.approx(0.3983, abs=1e-4) and high == pytest.approx(0.6017, abs=1e-4)


def test_a_perfectly_repeated_arrangement_scores_one_and_rejects_uniformity():
    summary = summarize_variant([model_metrics(True, 1.0)] * 12, repeated_arrangement(12))
    assert summary["axis_stability"] == pytest.approx(1.0)
    assert summary["axis_rayleigh_p"] < 1e-4
    assert summary["arrangement_stability"] == pytest.approx(1.0)
    assert summary["side_consistency"] == 1.0
    assert set(summary["digit_side_share"]) == {str(d) for d in range(2, 10)}


def test_random_arrangements_score_near_chance_and_keep_uniformity():
    n = 40
    summary = summarize_variant([model_metrics(False, 0.2)] * n, random_arrangement(n))
    chance = summary["stability_by_chance"]
    assert summary["arrangement_stability"] == pytest.approx(chance, abs=0.08)
    assert summary["side_consistency"] == pytest.approx(summary["side_by_chance"], abs=0.08)
    assert summary["axis_rayleigh_p"] > 0.01


def test_rayleigh_p_values_are_uniform_under_uniform_directions():
    """A valid test rejects uniform directions at its level: about 5 % at p < 0.05."""
    draws = torch.randn(2000, 8, 2, generator=torch.Generator().manual_seed(1))
    p = np.array([rayleigh_p_value(v) for v in draws])
    assert (p < 0.05).mean() == pytest.approx(0.05, abs=0.015)
    assert (p < 0.5).mean() == pytest.approx(0.5, abs=0.04)


def test_chance_majority_share_small_cases():
    assert chance_majority_share(1) == 1.0
    assert chance_majority_share(2) == pytest.approx(0.75)  # 1/2 agree fully, 1/2 split
    assert chance_majority_share(3) == pytest.approx(0.75)  # 1/4: 3 of 3, 3/4: 2 of 3


def test_side_of_axis_signs():
    centroids = torch.zeros(1, 10, 2)
    centroids[0, 1] = torch.tensor([1.0, 0.0])  # axis along +z1
    centroids[0, 2] = torch.tensor([0.5, 1.0])  # left of it (counter-clockwise)
    centroids[0, 3] = torch.tensor([0.5, -1.0])
    sides = side_of_axis(centroids)[0]
    assert sides[2] == 1 and sides[3] == -1 and sides[4] == 0
