"""Imported first by every stage script, before anything slow:

- the stage ends with the process that started it (Linux): `dvc repro` runs a stage as
  its child, and if dvc is killed the stage would run on as an orphan and rename its
  output into place with no dvc.lock entry; it gets SIGTERM instead, which unwinds it
  like Ctrl-C (anchorvae.cli) and leaves no output;
- the stage runs under the project's `.venv` when another Python started it
  (`.venv/bin/dvc repro` without the venv on PATH runs `python` from PATH): if this
  Python cannot import the project and `.venv/bin/python` exists, the script is run again
  by that Python; otherwise it stops with one line saying what to do.
"""

import ctypes
import importlib.util
import os
import signal
import sys
from pathlib import Path

VENV = Path(__file__).resolve().parents[1] / ".venv"
PR_SET_PDEATHSIG = 1  # prctl(2): the signal this process gets when its parent dies


def end_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before prctl took effect
        sys.exit(128 + signal.SIGTERM)


def _has_project() -> bool:
    return all(importlib.util.find_spec(name) for name in ("anchorvae", "torch", "yaml"))


def ensure_project_python() -> None:
    if _has_project():
        return
    venv_python = VENV / "bin" / "python"
    if venv_python.exists() and Path(sys.prefix).resolve() != VENV.resolve():
        os.execv(venv_python, [str(venv_python), *sys.argv])  # keeps the death signal
    sys.stderr.write(
        f"error: {sys.executable} cannot import anchorvae and its packages: run `make repro` "
        "(it creates .venv), or activate the environment where the project is installed\n"
    )
    sys.exit(2)


end_with_parent()
ensure_project_python()
