import numpy as np
import pytest

from anchorvae.templates import build_templates, class_mean_map, seed_donut, seed_stick


def expected_donut_row(r: int) -> list[int]:
    """The issue's description of the seed's donut, written out independently."""
    d = min(r, 27 - r)
    if d == 0:
        lo, hi = 7, 20
    elif d == 1:
        lo, hi = 6, 21
    elif d in (2, 3):
        lo, hi = 5, 22
    elif d == 4:
        lo, hi = 4, 23
    else:
        lo, hi = 3, 24
    row = [1 if lo <= c <= hi else 0 for c in range(28)]
    if 4 <= r <= 23:
        row = [0 if 10 <= c <= 17 else v for c, v in enumerate(row)]
    return row


def test_seed_donut_matches_the_description_cell_for_cell():
    expected = np.array([expected_donut_row(r) for r in range(28)], dtype=np.float32)
    donut = seed_donut()
    assert donut.dtype == np.float32 and donut.shape == (28, 28)
    np.testing.assert_array_equal(donut, expected)
    assert donut.sum() == 408


def test_seed_stick_is_columns_11_to_16():
    stick = seed_stick()
    expected = np.zeros((28, 28), dtype=np.float32)
    expected[:, 11:17] = 1
    np.testing.assert_array_equal(stick, expected)
    assert stick.sum() == 168


def test_class_mean_is_scaled_mean_of_that_digit():
    images = np.zeros((3, 28, 28), dtype=np.uint8)
    images[0, 0, 0] = 200
    images[1, 0, 0] = 100
    images[1, 5, 5] = 50
    images[2, 9, 9] = 255  # a '1', must not leak into the '0' map
    labels = np.array([0, 0, 1])
    donut = class_mean_map(images, labels, 0)
    assert donut[0, 0] == pytest.approx(1.0)
    assert donut[5, 5] == pytest.approx(25 / 150)
    assert donut[9, 9] == 0
    assert donut.dtype == np.float32


def test_build_templates_class_mean_needs_data():
    with pytest.raises(ValueError, match="need the training images"):
        build_templates("class_mean")
