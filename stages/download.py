"""Stage `download`: the four raw MNIST files, verified, in torchvision's layout.

It reads no params: where the files come from (anchorvae/pipeline/settings.py, environment
variables) does not change them, since each is checked against its pinned sha256.
"""

import _bootstrap  # noqa: F401  (first: ends with its parent, runs under .venv)

import os

from anchorvae.data.download import (
    MNIST_SHA256,
    DownloadError,
    default_sources,
    ensure_mnist,
    read_pins,
)
from anchorvae.errors import StageFailure
from anchorvae.pipeline.cli import parser, run_stage
from anchorvae.pipeline.settings import download_settings


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="MNIST root (files land in OUT/MNIST/raw)")
    p.add_argument(
        "--pins",
        help="JSON {file name: sha256} to verify against instead of the canonical MNIST sums",
    )
    args = p.parse_args(argv)
    pins = read_pins(args.pins) if args.pins else MNIST_SHA256
    data = download_settings(os.environ)  # ANCHORVAE_MIRRORS, _TIMEOUT_S, _INDEX_URL
    sources = default_sources(data.mirrors, data.index_url)
    try:
        ensure_mnist(args.out, sources, data.timeout_s, pins)
    except DownloadError as err:
        raise StageFailure(str(err)) from None


if __name__ == "__main__":
    run_stage(main)
