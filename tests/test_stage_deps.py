"""dvc.yaml's code deps are exactly what each stage's command imports (tools/stage_deps.py)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import pytest  # noqa: E402
from stage_deps import BadDvcYaml, import_closure, mismatches, stage_scripts  # noqa: E402

ONE_STAGE = """stages:
  params:
    cmd: {cmd}
    deps:
      - stages/check_params.py
"""


@pytest.mark.parametrize(
    ("dvc_yaml", "message"),
    [
        (ONE_STAGE.format(cmd="python stages/nope.py --out x"), "stages/nope.py does not exist"),
        ("stages: [\n", "is not valid YAML"),
        ("- a list\n", "has no `stages:` mapping"),
        (ONE_STAGE.format(cmd="sh -c 'python stages/check_params.py'"), "does not run a stage"),
        (ONE_STAGE.format(cmd="echo stages/check_params.py"), "does not run a stage script"),
    ],
)
def test_a_dvc_yaml_the_tool_cannot_follow_is_one_line(tmp_path, dvc_yaml, message):
    (tmp_path / "dvc.yaml").write_text(dvc_yaml)
    with pytest.raises(BadDvcYaml, match=message):
        mismatches(tmp_path)


def test_a_script_run_as_dot_slash_is_followed_and_the_tool_exits_1_in_one_line(tmp_path):
    import shutil
    import subprocess

    for name in ("anchorvae", "stages", "tools"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pyc*"))
    text = (ROOT / "dvc.yaml").read_text()
    dot_slash = text.replace("python stages/check_params.py", "./stages/check_params.py")
    (tmp_path / "dvc.yaml").write_text(dot_slash)
    assert mismatches(tmp_path) == {}  # followed, not skipped
    (tmp_path / "dvc.yaml").write_text(text.replace("stages/plots.py", "stages/plotz.py", 1))
    tool = [sys.executable, str(tmp_path / "tools" / "stage_deps.py")]
    done = subprocess.run(tool, capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"stage_deps: {tmp_path / 'dvc.yaml'}: stage plots: stages/plotz.py does not exist"
    ]
    (tmp_path / "dvc.yaml").write_text(
        text.replace("    deps:\n      - stages/download.py", "    deps: 7\n    x:\n      - a", 1)
    )
    done = subprocess.run(tool, capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"stage_deps: {tmp_path / 'dvc.yaml'}: stage download: deps = 7 is not a list of paths"
    ]
    done = subprocess.run([*tool, "--wirte"], capture_output=True, text=True)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "stage_deps: '--wirte' is not an argument: expected none (check) or --write"
    ]


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
    assert {n for n, c in closures.items() if "anchorvae/training/train.py" in c} == {"train"}
    figures = {n for n, c in closures.items() if "anchorvae/reports/figures.py" in c}
    assert figures == {"templates", "plots"}
    assert {n for n, c in closures.items() if "anchorvae/data/download.py" in c} == {"download"}


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


def test_a_folder_every_module_of_which_a_stage_imports_is_listed_as_the_folder(tmp_path):
    """Short deps lists: a package the stage uses whole is one line (its highest such
    folder), a package it uses in part is its files."""
    from stage_deps import _listed

    for path in ("pkg/__init__.py", "pkg/whole/__init__.py", "pkg/whole/a.py",
                 "pkg/whole/sub/b.py", "pkg/part/__init__.py", "pkg/part/c.py",
                 "pkg/part/d.py", "pkg/e.py"):  # fmt: skip
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("")
    closure = {Path(p) for p in ("pkg/__init__.py", "pkg/whole/__init__.py", "pkg/whole/a.py",
                                 "pkg/whole/sub/b.py", "pkg/part/c.py")}  # fmt: skip
    assert _listed(closure, tmp_path) == ["pkg/__init__.py", "pkg/part/c.py", "pkg/whole"]
    everything = {p.relative_to(tmp_path) for p in tmp_path.rglob("*.py")}
    assert _listed(everything, tmp_path) == ["pkg"]


def test_a_reader_that_leaves_early_gets_no_traceback(tmp_path):
    """`tools/stage_deps.py | head -1` over more lines than a pipe holds: the tool ends
    quietly when `head` goes (SIGPIPE), as other Unix tools do."""
    import shutil
    import subprocess

    shutil.copytree(ROOT / "tools", tmp_path / "tools", ignore=shutil.ignore_patterns("__pyc*"))
    shutil.copytree(ROOT / "anchorvae", tmp_path / "anchorvae",
                    ignore=shutil.ignore_patterns("__pyc*"))  # fmt: skip
    (tmp_path / "stages").mkdir()
    (tmp_path / "stages" / "tiny.py").write_text("")
    deps = "".join(f"      - anchorvae/not_imported_{i}.py\n" for i in range(2000))  # ~150 kB
    (tmp_path / "dvc.yaml").write_text(f"stages:\n  s:\n    cmd: python stages/tiny.py\n"
                                       f"    deps:\n      - stages/tiny.py\n{deps}")  # fmt: skip
    tool = f"{sys.executable} tools/stage_deps.py 2>stderr.txt | head -1"
    done = subprocess.run(tool, shell=True, cwd=tmp_path, capture_output=True, text=True)
    assert done.stdout.startswith("s: depends on ") and len(done.stdout.splitlines()) == 1
    assert (tmp_path / "stderr.txt").read_text() == ""


def test_ctrl_c_during_write_is_one_line(monkeypatch, capsys):
    import stage_deps

    def interrupted(root=ROOT):
        raise KeyboardInterrupt

    monkeypatch.setattr(stage_deps, "write_deps", interrupted)
    monkeypatch.setattr(sys, "argv", ["stage_deps.py", "--write"])
    assert stage_deps.main() == 130
    assert capsys.readouterr().err == (
        "stage_deps: interrupted (dvc.yaml is never left half-written)\n"
    )
