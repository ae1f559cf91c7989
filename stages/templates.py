"""Stage `templates`: the donut and stick anchor maps as .npy files and a picture."""

from pathlib import Path

from anchorvae.atomic import atomic_dir
from anchorvae.cli import params_from, parser, run_stage
from anchorvae.plots import save_figure, templates_figure
from anchorvae.templates import build_templates, save_templates


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--mnist", required=True, help="MNIST root (read for class_mean)")
    p.add_argument("--out", required=True, help="folder for donut.npy, stick.npy, templates.png")
    args = p.parse_args(argv)
    kind = params_from(args).templates.kind
    images = labels = None
    if kind == "class_mean":
        from anchorvae.data import load_mnist

        images, labels = (t.numpy() for t in load_mnist(args.mnist, train=True))
    donut, stick = build_templates(kind, images, labels)
    with atomic_dir(args.out) as tmp:
        save_templates(tmp, {"donut": donut, "stick": stick})
        save_figure(templates_figure(donut, stick, kind), Path(tmp) / "templates.png")


if __name__ == "__main__":
    run_stage(main)
