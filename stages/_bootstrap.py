"""Imported first by every stage script, before anything slow:

- the stage ends with the process that started it (Linux): `dvc repro` runs a stage's
  cmd in `$SHELL -c` (`/bin/sh` when SHELL is unset), and if dvc is killed the stage
  would run on as an orphan and rename its output into place with no dvc.lock entry; it
  gets SIGTERM instead, which unwinds it like Ctrl-C (anchorvae.pipeline.cli) and leaves no
  output. bash runs a `-c` command in place (exec), dash does not: when the parent is a
  shell, the shell's parent is watched too;
- the math libraries use the same code paths on every x86-64 CPU with AVX2, so that the
  outputs are the same bytes on an AVX2 and an AVX-512 machine (measured here: the
  classifier's weights differ between the two paths of oneDNN and of ATen; MKL's
  conditional numerical reproducibility does the same for its products). Set before torch
  is imported; a value already in the environment is kept;
- the stage runs under the project's `.venv` when another Python started it
  (`.venv/bin/dvc repro` without the venv on PATH runs `python` from PATH): if this
  Python cannot import the project and `.venv/bin/python` exists, the script is run again
  by that Python; otherwise it stops with one line saying what to do.
"""

import ctypes
import importlib.util
import os
import select
import signal
import sys
import threading
from pathlib import Path

VENV = Path(__file__).resolve().parents[1] / ".venv"
PR_SET_PDEATHSIG = 1  # prctl(2): the signal this process gets when its parent dies
# What $SHELL may be when DVC runs a cmd: a parent by one of these names is a shell in
# between, and the process that started the shell (dvc) is the one to end with.
SHELLS = {"sh", "dash", "bash", "zsh", "ksh", "mksh", "fish", "busybox"}


def _name_and_parent(pid: int) -> tuple[str, int]:
    """A process's command name and parent pid, from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    name, rest = stat[stat.index("(") + 1 :].rsplit(")", 1)  # the name may hold ") "
    return name, int(rest.split()[1])


def _end_when_gone(pidfd: int) -> None:
    select.select([pidfd], [], [])  # readable once that process has exited
    os.kill(os.getpid(), signal.SIGTERM)


def _watch(pid: int) -> None:
    """SIGTERM to this process when ``pid`` exits (a pidfd: no polling, no pid reuse)."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:  # already gone
        sys.exit(128 + signal.SIGTERM)
    except (AttributeError, OSError):  # no pidfd (Linux < 5.3): the prctl still holds
        return
    threading.Thread(target=_end_when_gone, args=(pidfd,), daemon=True).start()


def end_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before prctl took effect
        sys.exit(128 + signal.SIGTERM)
    try:
        name, grandparent = _name_and_parent(parent)
    except (OSError, ValueError, IndexError):
        return
    if name in SHELLS and grandparent > 1:  # the shell waits on us and outlives dvc
        _watch(grandparent)


# The code path every x86-64 CPU with AVX2 (x86-64-v3) can take, per math library.
SAME_ON_AVX2 = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2"}


def pin_math_paths() -> None:
    """Pin ATen, oneDNN and MKL to their AVX2 paths, where the CPU has AVX2."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return
    if " avx2" in flags:
        for name, value in SAME_ON_AVX2.items():
            os.environ.setdefault(name, value)


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
pin_math_paths()
ensure_project_python()
