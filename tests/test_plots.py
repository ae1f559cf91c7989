import numpy as np

from anchorvae.reports.figures import headline_figure, manifold_canvas, model_figures


def test_manifold_canvas_uses_math_axes():
    n = 3
    grid = np.zeros((n, n, 28, 28), dtype=np.uint8)
    for i in range(n):
        for j in range(n):
            grid[i, j] = 10 * i + j  # i indexes z1, j indexes z2
    canvas = manifold_canvas(grid)
    assert canvas.shape == (28 * n, 28 * n)
    tile = lambda row, col: canvas[28 * row + 5, 28 * col + 5]  # noqa: E731
    assert tile(2, 0) == 0  # bottom left: lowest z1, lowest z2 (the (-,-) corner)
    assert tile(0, 2) == 22  # top right: highest z1, highest z2
    assert tile(0, 0) == 2  # top left: lowest z1, highest z2


def test_figures_are_drawn_for_two_and_three_dimensions():
    rng = np.random.default_rng(0)
    labels = np.arange(40) % 10
    latent, manifold = model_figures(rng.normal(size=(40, 2)), labels,
                                     np.zeros((4, 4, 28, 28), np.uint8), "m")  # fmt: skip
    assert manifold is not None and latent.axes
    latent3, manifold3 = model_figures(rng.normal(size=(40, 3)), labels, None, "m")
    assert manifold3 is None
    panels = {v: [(s, rng.normal(size=(40, 2)), labels) for s in range(2)]
              for v in ("baseline", "anchored")}  # fmt: skip
    assert len(headline_figure(panels).axes) == 4


def test_the_manifold_is_the_scatter_s_dotted_square_where_the_grid_was_decoded():
    from anchorvae.evaluation.placement import normal_grid

    rng = np.random.default_rng(0)
    latent, manifold = model_figures(rng.normal(size=(40, 2)), np.arange(40) % 10,
                                     np.zeros((5, 5, 28, 28), np.uint8), "m")  # fmt: skip
    codes = normal_grid(5)
    low, high = float(codes[0, 0, 0]), float(codes[-1, -1, 0])
    square = [p for p in latent.axes[0].patches if p.get_linestyle() == ":"]
    assert len(square) == 1
    assert np.allclose([square[0].get_x(), square[0].get_x() + square[0].get_width()],
                       [low, high], atol=1e-4)  # fmt: skip
    assert np.allclose(manifold.axes[0].images[0].get_extent(), [low, high, low, high], atol=1e-4)
