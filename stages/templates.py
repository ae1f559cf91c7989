"""Stage `templates`: every score's anchor maps as .npy files (one folder, what the scores
stages read), a picture of them, and every score's mean per digit on the training set
(what justifies a template)."""

import _bootstrap  # noqa: F401  (first: ends with its parent, runs under .venv)

from pathlib import Path

from anchorvae.atomic import atomic_dir
from anchorvae.cli import parse, parser, run_stage
from anchorvae.data import load_mnist
from anchorvae.plots import save_figure, templates_figure
from anchorvae.scores import build_all_maps, map_titles, save_maps, scores_by_digit


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--mnist", required=True, help="MNIST root (its training set is read)")
    p.add_argument("--maps", required=True, help="folder for <map>.npy, every score's maps")
    p.add_argument("--out", required=True, help="folder for templates.png, scores_by_digit.csv")
    args, params = parse(p, argv)
    kind = params.templates.kind
    images, labels = (t.numpy() for t in load_mnist(args.mnist, train=True))
    maps = build_all_maps(kind, images, labels)
    table = scores_by_digit(maps, images, labels)
    with atomic_dir(args.maps) as tmp:
        save_maps(tmp, maps)
    with atomic_dir(args.out) as tmp:
        figure = templates_figure(maps, map_titles(), kind)
        save_figure(figure, Path(tmp) / "templates.png")
        table.to_csv(Path(tmp) / "scores_by_digit.csv", index=False, float_format="%.4f")


if __name__ == "__main__":
    run_stage(main)
