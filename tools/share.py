"""`make push` and `make pull`: DVC's push and pull of the default remote, saying where.

    python tools/share.py push|pull     # in the repository

The default remote is ``~/.cache/anchorvae-dvc-storage`` (.dvc/config): one folder for
every clone of a user. With HOME unset, empty or relative, DVC would resolve that path
inside the clone itself (``.dvc/~/...``), where no other clone looks, and a push would
say "pushed" all the same: such a HOME is refused in one line before anything moves, as
is any local remote inside the clone. A pull that fails says in one line which folder
(or URL) it looked in, instead of DVC's list of missing hashes (`dvc pull -v` has it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the project, if not installed

from anchorvae.errors import StageFailure, UsageError  # noqa: E402
from anchorvae.pipeline.cli import run_stage  # noqa: E402


def default_remote(root: Path) -> tuple[str, str]:
    """(name, URL or absolute folder) of the default remote, as DVC resolves its config."""
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        config = repo.config
        name = config["core"].get("remote")
        if not name:
            raise UsageError("no default remote: `dvc remote add -d NAME URL` (docs/workflow.md)")
        return name, str(config["remote"][name]["url"])


def check_local(url: str, root: Path, env=os.environ) -> None:
    """A local remote must lie outside the clone, under an absolute HOME."""
    if "://" in url:
        return
    home = env.get("HOME", "")
    if not home or not Path(home).is_absolute():
        raise UsageError(f"HOME = {home!r} is not an absolute path: the remote {url} would be "
                         "a folder inside this clone, where no other clone looks; set HOME "
                         "to your home folder")  # fmt: skip
    folder = Path(url).resolve()
    if folder == root.resolve() or root.resolve() in folder.parents:
        raise UsageError(f"the remote {folder} lies inside this clone, where no other clone "
                         "looks: point it elsewhere (`dvc remote modify`)")  # fmt: skip


def share(action: str, root: Path = Path(".")) -> None:
    name, url = default_remote(root)
    check_local(url, root)
    if action == "push":
        if subprocess.run(["dvc", "push"], cwd=root).returncode != 0:
            raise StageFailure(f"dvc push to remote {name} ({url}) failed (DVC said why above)")
        return
    pulled = subprocess.run(["dvc", "pull"], cwd=root, capture_output=True, text=True)
    if pulled.returncode != 0:
        raise StageFailure(f"dvc pull found not every file dvc.lock names in remote {name} "
                           f"({url}): push them from the clone that made them (`make push`), "
                           "or run `make repro`; `dvc pull -v` lists them")  # fmt: skip
    sys.stderr.write(pulled.stdout + pulled.stderr)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv not in (["push"], ["pull"]):
        raise UsageError(f"{' '.join(argv)!r} is not an action: expected push or pull")
    share(argv[0])


if __name__ == "__main__":
    run_stage(main)
