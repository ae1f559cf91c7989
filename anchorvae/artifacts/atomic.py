"""Atomic writes: build every output under a temporary name, rename it into place.

A reader (or DVC) never sees a half-written file: an interrupted run leaves at most a
hidden ``.tmp-*`` entry, which is removed on the way out when Python can, and by the
next run of the stage when it could not (SIGKILL). Temporary entries of a nested output
(``data/models/anchored``) are made in its top folder (``data/.tmp-models__anchored.*``),
not beside it: another stage depends on ``data/models`` as a whole and must not see them.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _usual_mode(path: Path, is_dir: bool) -> None:
    """mkstemp/mkdtemp create private (0600/0700) entries; give outputs the usual mode."""
    os.chmod(path, (0o777 if is_dir else 0o666) & ~_umask())


def _staging(path: Path) -> tuple[Path, str]:
    """(folder, name prefix) of the temporary entries of output ``path``.

    A relative path of three or more parts (as dvc.yaml gives them) stages in its first
    folder, if that is on the output's file system (a rename cannot cross one: a
    ``data/models`` mounted or linked elsewhere stages beside the output); the prefix
    names the rest of the path. Other paths stage beside themselves.
    """
    parts = path.parts
    beside = path.parent, f"{STAGING}{path.name}."
    if path.is_absolute() or len(parts) < 3 or not _same_device(Path(parts[0]), path.parent):
        return beside
    return Path(parts[0]), STAGING + "__".join(parts[1:]) + "."


def _same_device(a: Path, b: Path) -> bool:
    try:
        return a.stat().st_dev == b.stat().st_dev
    except OSError:  # not there yet: the caller makes the parent folders
        return True


_SWEPT: set[Path] = set()  # staging folders this process has cleared of every stale entry


def _remove_stale(path: Path) -> None:
    """Remove temporary entries that a killed run (SIGKILL) left behind: this output's,
    and on this process's first output in a folder every other output's too (a stage that
    DVC finds cached never starts to clear its own; DVC runs one stage of a workspace at
    a time, so no other stage is writing there)."""
    folder, prefix = _staging(path)
    first = folder.resolve() not in _SWEPT
    _SWEPT.add(folder.resolve())
    remove_staging(folder, STAGING if first else prefix)


STAGING = ".tmp-"  # every temporary entry's name starts so


def remove_staging(folder: str | Path, prefix: str = STAGING) -> list[Path]:
    """Remove the temporary entries named ``prefix``... in ``folder``; returns them."""
    removed = sorted(Path(folder).glob(f"{prefix}*"))
    for stale in removed:
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)
    return removed


def _replace_dir(new: Path, path: Path) -> None:
    """Put folder ``new`` at ``path``: the old folder is moved aside first and removed only
    once the new one is in place, so a failure never leaves a half-removed output."""
    if not path.exists():
        os.replace(new, path)
        return
    folder, prefix = _staging(path)
    old = Path(tempfile.mkdtemp(prefix=f"{prefix}old.", dir=folder))
    os.replace(path, old)  # a rename: all or nothing
    try:
        os.replace(new, path)
    except OSError:
        os.replace(old, path)  # put the old output back
        raise
    shutil.rmtree(old, ignore_errors=True)  # leftovers go with the next run's _remove_stale


@contextmanager
def _named(path: Path) -> Iterator[None]:
    """An OSError that names no file (numpy's and pandas' writers on a full disk say only
    "12544 requested and 8064 written") is raised again naming the output ``path``."""
    try:
        yield
    except OSError as err:
        if err.filename:
            raise
        reason = err.strerror or str(err)
        if err.errno in (None, errno.EIO):  # a short write: no errno says why
            reason = f"{reason}: a write fell short, is the disk full or over its quota?"
        raise OSError(err.errno, reason, str(path)) from None


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(path)
    folder, prefix = _staging(path)
    fd, tmp = tempfile.mkstemp(prefix=prefix, dir=folder)
    os.close(fd)
    tmp = Path(tmp)
    _usual_mode(tmp, is_dir=False)
    try:
        with _named(path):
            yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield an empty temporary folder; on success it replaces the folder ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(path)
    folder, prefix = _staging(path)
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=folder))
    _usual_mode(tmp, is_dir=True)
    try:
        with _named(path):
            yield tmp
        _replace_dir(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: str | Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


@contextmanager
def scratch_file(folder: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary file path in ``folder`` that is always removed afterwards."""
    fd, tmp = tempfile.mkstemp(prefix=STAGING, suffix=suffix, dir=folder)
    os.close(fd)
    _usual_mode(Path(tmp), is_dir=False)
    try:
        yield Path(tmp)
    finally:
        Path(tmp).unlink(missing_ok=True)
