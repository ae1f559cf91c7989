"""Run dvc.yaml's stages where DVC is not installed (a lent GPU machine), in order.

    python tools/run_without_dvc.py [-S KEY=VALUE ...] [--dry-run]

The commands come from dvc.yaml itself: each ``matrix`` over a params mapping is expanded
over its keys and ``${item.NAME}`` filled in, and the stages run in the order their deps
and outs give. Every command gets ``--params`` of a copy of params.yaml with the ``-S``
overrides applied (YAML values, as `dvc exp run -S` takes them), e.g. the study's
``-S "seeds=$(python3 -c 'print(list(range(100)))')"``. Every stage runs, whether or not
its outputs are up to date (there is no dvc.lock to say); each one's time goes to stderr.
"""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the project, where it is not installed (a lent GPU)

from anchorvae.errors import UsageError  # noqa: E402
from anchorvae.pipeline.cli import Terminated, unwind_on_signals  # noqa: E402
from anchorvae.pipeline.overrides import apply_overrides  # noqa: E402
from anchorvae.pipeline.params import ParamsError  # noqa: E402
from anchorvae.pipeline.params_file import load_params, parse_params, write_yaml  # noqa: E402

ITEM = re.compile(r"\$\{item\.(\w+)\}")
PARAM_REF = re.compile(r"^\$\{([\w.]+)\}$")
PARAM = re.compile(r"\$\{(?!item\.)([\w.]+)\}")  # params interpolation, as DVC's


def _lookup(params: dict, dotted: str):
    value = params
    for key in dotted.split("."):
        value = value[key]
    return value


def _paths(entries: list) -> list[str]:
    """dvc.yaml deps/outs entries (strings or one-key mappings) as paths."""
    return [next(iter(e)) if isinstance(e, dict) else str(e) for e in entries or []]


def expand(stages: dict, params: dict) -> list[dict]:
    """One {name, cmd, deps, outs} per stage, a matrix stage once per combination."""
    expanded = []
    for name, stage in stages.items():
        combos = [{}]
        for key, values in (stage.get("matrix") or {}).items():
            ref = PARAM_REF.match(values) if isinstance(values, str) else None
            values = list(_lookup(params, ref[1])) if ref else values
            combos = [{**c, key: v} for c in combos for v in values]
        for combo in combos:

            def fill(text: str, combo=combo) -> str:
                text = ITEM.sub(lambda m: str(combo[m[1]]), text)
                return PARAM.sub(lambda m: str(_lookup(params, m[1])), text)  # ${evaluate.control}

            suffix = "@" + "-".join(str(v) for v in combo.values()) if combo else ""
            expanded.append({
                "name": name + suffix,
                "cmd": " ".join(fill(stage["cmd"]).split()),
                "deps": [fill(p) for p in _paths(stage.get("deps"))],
                "outs": [fill(p) for p in _paths(stage.get("outs")) + _paths(stage.get("metrics"))
                         + _paths(stage.get("plots"))],
            })  # fmt: skip
    return expanded


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/") or folder.startswith(
        path.rstrip("/") + "/")  # fmt: skip


def in_order(stages: list[dict]) -> list[dict]:
    """Stages ordered so that each runs after every stage whose outputs it reads."""
    done: list[dict] = []
    left = list(stages)
    while left:
        ready = [s for s in left if not any(
            _inside(dep, out) for other in left if other is not s
            for out in other["outs"] for dep in s["deps"])]  # fmt: skip
        if not ready:
            raise SystemExit("dvc.yaml's stages depend on each other in a cycle")
        done += ready
        left = [s for s in left if s not in ready]
    return done


def overridden_params(path: Path, overrides: list[str]) -> dict:
    """params.yaml with ``overrides`` applied, validated as every stage will read it."""
    params = apply_overrides(load_params(path).model_dump(), overrides)
    parse_params(params)
    return params


COPY_PREFIX = ".tmp-run_without_dvc."  # the params copy, in the checkout's root


class Stopped(Exception):
    """A stage was ended by Ctrl-C (signal ``signum``), or as ``how`` says."""

    def __init__(self, stage: str, signum: int, how: str):
        super().__init__(stage)
        self.stage, self.signum, self.how = stage, signum, how


def params_copy(params: dict) -> Path:
    """The overridden params as a file the stages read, beside params.yaml; a copy that a
    killed run (kill -9) left there is removed first."""
    for stale in ROOT.glob(f"{COPY_PREFIX}*"):
        stale.unlink(missing_ok=True)
    fd, name = tempfile.mkstemp(prefix=COPY_PREFIX, suffix=".yaml", dir=ROOT)
    with open(fd, "w") as f:
        write_yaml(params, f)
    return Path(name)


def run_stages(stages: list[dict], copy: Path, dry_run: bool) -> int:
    start = time.monotonic()
    for stage in stages:
        cmd = f"{stage['cmd']} --params {copy}"
        print(f"{stage['name']}: {cmd}", file=sys.stderr, flush=True)
        if dry_run:
            continue
        begun = time.monotonic()
        child = subprocess.Popen(cmd, shell=True, cwd=ROOT)
        try:
            code = child.wait()
        except (KeyboardInterrupt, Terminated) as signal_:  # the stage ends with us
            _end(child)
            if isinstance(signal_, Terminated):
                raise Stopped(stage["name"], signal_.signum, signal_.how) from None
            raise Stopped(stage["name"], signal.SIGINT, "interrupted") from None
        if code != 0:
            print(f"{stage['name']} failed", file=sys.stderr)
            return 1
        print(f"timing: {stage['name']} {time.monotonic() - begun:.1f} s", file=sys.stderr)
    print(f"timing: all stages {time.monotonic() - start:.1f} s", file=sys.stderr)
    return 0


def _end(child: subprocess.Popen) -> None:
    """SIGTERM to the stage (it unwinds and writes nothing), SIGKILL if it lingers."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C waits too
    try:
        child.terminate()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    finally:
        signal.signal(signal.SIGINT, previous)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-S", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = p.parse_args()
    try:
        params = overridden_params(ROOT / "params.yaml", args.overrides)
    except (ParamsError, UsageError) as err:
        print(f"run_without_dvc: error: {err}", file=sys.stderr)
        return 2
    stages = in_order(expand(yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"], params))
    unwind_on_signals()
    copy = params_copy(params)
    try:
        return run_stages(stages, copy, args.dry_run)
    except Stopped as stopped:
        print(f"run_without_dvc: {stopped.how}: stage {stopped.stage} ended, its outputs not "
              "written", file=sys.stderr)  # fmt: skip
        return 128 + stopped.signum
    finally:
        copy.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
