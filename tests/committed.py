"""The files the documents' generated blocks are checked against.

`make repro` on a CPU that rounds otherwise trains other bytes and rewrites metrics/ (it
says so in one line: tools/made_on.py), but no document: the README's two commands, in
its order, must stay green there. So where the workspace's metrics differ from the
commit's and its documents do not, the committed documents are checked against the
committed metrics (git's copies); otherwise the workspace is checked as it stands, which
catches a README left stale by a rerun once the rerun is committed.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

DOCUMENTS = ("README.md", "docs")  # what `make readme` writes
SOURCES = ("metrics", "reports")  # what it reads


def _git(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=root, capture_output=True)


def _changed(root: Path, paths: tuple[str, ...]) -> bool:
    status = _git(root, "status", "--porcelain", "--untracked-files=all", "--", *paths)
    return bool(status.stdout.strip())


def rerun_elsewhere(root: Path) -> bool:
    """The workspace's metrics are not the commit's, its documents are."""
    if _git(root, "rev-parse", "--verify", "-q", "HEAD").returncode != 0:
        return False
    return _changed(root, ("metrics",)) and not _changed(root, DOCUMENTS + ("reports",))


def documents_source(root: Path, scratch: Path) -> Path:
    """``root``, or where its metrics were rerun with other bytes, a copy of the commit's
    documents, metrics and reports in ``scratch``."""
    if not rerun_elsewhere(root):
        return root
    paths = [
        p for p in DOCUMENTS + SOURCES if _git(root, "cat-file", "-e", f"HEAD:{p}").returncode == 0
    ]
    archive = _git(root, "archive", "--format=tar", "HEAD", *paths)
    assert archive.returncode == 0, archive.stderr
    scratch.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(scratch, filter="data")
    return scratch
