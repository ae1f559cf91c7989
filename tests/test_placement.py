import math

import pytest
import torch

from anchorvae.placement import (
    corner_fractions,
    digit_centroids,
    grid_purity,
    is_placed,
    normal_grid,
)
from anchorvae.summary import chance_resultant_length, mean_resultant_length, summarize_variant


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


def test_summarize_variant():
    def model(placed, z, centroid0):
        centroids = torch.zeros(10, 2)
        centroids[0] = torch.tensor(centroid0)
        centroids[1] = -torch.tensor(centroid0)
        metrics = {
            "placed": placed,
            "zeros_in_corner": z,
            "ones_in_corner": z,
            "test_recon": 30.0,
            "test_kl": 5.0,
            "recon_accuracy": 0.9,
        }
        return {"metrics": metrics, "centroids": centroids}

    summary = summarize_variant(
        [model(True, 1.0, [-1, -1]), model(False, 0.5, [-2, -2]), model(True, 0.0, [-1, -1])]
    )
    assert summary["placed_rate"] == pytest.approx(2 / 3)
    assert summary["placed_count"] == 2
    assert summary["zeros_in_corner"]["mean"] == pytest.approx(0.5)
    assert summary["zeros_in_corner"]["std"] == pytest.approx(0.5)
    assert summary["zeros_stability"] == pytest.approx(1.0)
    assert "grid_zero_purity" not in summary  # absent, not 0
    assert 0 < summary["stability_by_chance"] < 1
