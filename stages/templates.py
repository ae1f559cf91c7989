"""Stage `templates`: every score's anchor maps as .npy files (one folder, what the scores
stages read), a picture of them, every score's mean per digit on the training set (what
justifies a template), and what few-shot (shots.json) or label-free (made_of.json)
templates were made of."""

import _bootstrap  # noqa: F401  (first: ends with its parent, runs under .venv)

from pathlib import Path

from anchorvae.artifacts.arrays import save_maps
from anchorvae.artifacts.atomic import atomic_dir, write_json
from anchorvae.data.mnist import load_mnist
from anchorvae.digits import ANCHORED_DIGITS
from anchorvae.errors import UsageError
from anchorvae.method.scores import build_all_maps, few_shot_labels, map_titles, scores_by_digit
from anchorvae.pipeline.cli import parse, parser, run_stage
from anchorvae.reports.figures import save_figure, templates_figure


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--mnist", required=True, help="MNIST root (its training set is read)")
    p.add_argument("--maps", required=True, help="folder for <map>.npy, every score's maps")
    p.add_argument("--out", required=True, help="folder for templates.png, scores_by_digit.csv")
    args, params = parse(p, argv)
    t = params.templates
    images, labels = (x.numpy() for x in load_mnist(args.mnist, train=True))
    try:  # the anchored digits' class means from `shots` images each (0: from all)
        shown, kept = few_shot_labels(labels, ANCHORED_DIGITS, t.shots, t.seed)
        maps, made_of = build_all_maps(t, images, shown)  # label-free kinds read no label
    except ValueError as err:
        raise UsageError(str(err)) from None
    table = scores_by_digit(maps, images, labels)
    with atomic_dir(args.maps) as tmp:
        save_maps(tmp, maps)
    with atomic_dir(args.out) as tmp:
        figure = templates_figure(maps, map_titles(), t.kind)
        save_figure(figure, Path(tmp) / "templates.png")
        table.to_csv(Path(tmp) / "scores_by_digit.csv", index=False, float_format="%.4f")
        if t.kind == "class_mean" and t.shots:  # which images the templates were made of
            shots = {str(d): indices.tolist() for d, indices in kept.items()}
            write_json(Path(tmp) / "shots.json", {"shots": t.shots, "seed": t.seed,
                                                   "training_images": shots})  # fmt: skip
        if made_of:  # what label-free templates were made of: clusters, images, rounds
            write_json(Path(tmp) / "made_of.json", made_of)


if __name__ == "__main__":
    run_stage(main)
