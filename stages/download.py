"""Stage `download`: the four raw MNIST files, verified, in torchvision's layout."""

import _bootstrap  # noqa: F401  (first: ends with its parent, runs under .venv)

from anchorvae.cli import params_from, parser, run_stage
from anchorvae.download import (
    MNIST_SHA256,
    DownloadError,
    default_sources,
    ensure_mnist,
    read_pins,
)
from anchorvae.errors import StageFailure


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--out", required=True, help="MNIST root (files land in OUT/MNIST/raw)")
    p.add_argument(
        "--pins",
        help="JSON {file name: sha256} to verify against instead of the canonical MNIST sums",
    )
    args = p.parse_args(argv)
    pins = read_pins(args.pins) if args.pins else MNIST_SHA256
    data = params_from(args).data
    sources = default_sources(data.mirrors, data.index_url)
    try:
        ensure_mnist(args.out, sources, data.timeout_s, pins)
    except DownloadError as err:
        raise StageFailure(str(err)) from None


if __name__ == "__main__":
    run_stage(main)
