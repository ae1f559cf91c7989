"""dvc.yaml's code deps are exactly what each stage's command imports (tools/stage_deps.py)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from stage_deps import import_closure, mismatches, stage_scripts  # noqa: E402


def test_every_stage_depends_on_exactly_the_files_its_command_imports():
    problems = [
        f"{stage}: imports {path} (missing from deps)" if kind == "missing"
        else f"{stage}: depends on {path} (not imported)"
        for stage, (missing, extra) in mismatches().items()
        for kind, paths in (("missing", missing), ("extra", extra))
        for path in sorted(paths)
    ]  # fmt: skip
    assert not problems, "\n".join(problems)


def test_the_closure_sees_through_packages_and_skips_type_only_imports(tmp_path):
    (tmp_path / "stages").mkdir()
    pkg = tmp_path / "anchorvae"
    (pkg / "plugins").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text(
        "from typing import TYPE_CHECKING\nfrom anchorvae import plugins\n"
        "if TYPE_CHECKING:\n    from anchorvae import b\n"
    )
    (pkg / "b.py").write_text("")
    (pkg / "plugins" / "__init__.py").write_text("import pkgutil\npkgutil.iter_modules\n")
    (pkg / "plugins" / "one.py").write_text("import os\n")
    (tmp_path / "stages" / "_bootstrap.py").write_text("")
    script = tmp_path / "stages" / "go.py"
    script.write_text("import _bootstrap\n\ndef main():\n    from anchorvae.a import x\n")
    found = {str(p) for p in import_closure(script, tmp_path)}
    assert found == {
        "stages/go.py", "stages/_bootstrap.py", "anchorvae/__init__.py", "anchorvae/a.py",
        "anchorvae/plugins/__init__.py", "anchorvae/plugins/one.py",
    }  # fmt: skip


def test_a_plotting_or_trainer_module_stays_out_of_the_other_stages():
    closures = {
        name: {str(p) for p in import_closure(ROOT / script)}
        for name, script in stage_scripts(ROOT / "dvc.yaml").items()
    }
    assert {n for n, c in closures.items() if "anchorvae/train.py" in c} == {"train"}
    assert {n for n, c in closures.items() if "anchorvae/plots.py" in c} == {"templates", "plots"}
    assert {n for n, c in closures.items() if "anchorvae/download.py" in c} == {"download"}


def test_the_runner_without_dvc_expands_dvc_yaml_as_dvc_does():
    """tools/run_without_dvc.py takes its commands from dvc.yaml, in an order DVC accepts."""
    import yaml
    from dvc.repo import Repo
    from run_without_dvc import expand, in_order

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    ours = in_order(expand(yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"], params))
    with Repo(str(ROOT)) as repo:
        theirs = {s.addressing.split(":")[-1]: " ".join(s.cmd.split()) for s in repo.index.stages}
    assert {s["name"]: s["cmd"] for s in ours} == theirs
    ran: set[str] = set()
    for stage in ours:  # every stage runs after the stages that write what it reads
        for other in ours:
            if any(dep.startswith(out) for out in other["outs"] for dep in stage["deps"]):
                assert other["name"] in ran, (stage["name"], other["name"])
        ran.add(stage["name"])
