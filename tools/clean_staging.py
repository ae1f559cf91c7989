"""Remove what killed stage runs left in the outputs' folders, before `make repro`.

    python tools/clean_staging.py    # in the repository: every top folder of dvc.yaml's outs

Outputs are built under a temporary ``.tmp-*`` name and renamed into place
(anchorvae/artifacts/atomic.py); a run killed with SIGKILL leaves that entry behind. Every stage
clears the folders it writes to, but a stage that DVC finds cached never starts, so
`make repro` clears them first. Run it only while no `dvc repro` runs in this workspace.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the project, if not installed

from anchorvae.artifacts.atomic import remove_staging  # noqa: E402


def output_folders(dvc_yaml: Path) -> list[Path]:
    """The top folder of every output, metric and plot file that dvc.yaml's stages write."""
    stages = yaml.safe_load(dvc_yaml.read_text())["stages"]
    folders = set()
    for stage in stages.values():
        for kind in ("outs", "metrics", "plots"):
            for entry in stage.get(kind) or []:
                path = Path(next(iter(entry)) if isinstance(entry, dict) else entry)
                if len(path.parts) > 1:
                    folders.add(Path(path.parts[0]))
    return sorted(folders)


def main() -> int:
    for folder in output_folders(Path("dvc.yaml")):
        for path in remove_staging(folder):
            print(f"clean_staging: removed {path} (left by a killed run)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
