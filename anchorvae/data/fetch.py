"""Verified fetches: a file is streamed or unpacked under a temporary name and renamed into
place only once its sha256 matches the pin, so nothing that looks like data is ever half
there. What every download source shares (anchorvae/data/download.py)."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import shutil
import urllib.error
import urllib.parse
import urllib.request
import zlib
from pathlib import Path

from tqdm import tqdm

CHUNK = 1 << 16


class SourceError(Exception):
    """One source could not supply a verified file."""


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
