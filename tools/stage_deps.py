"""Which project files each `dvc.yaml` stage's command imports, against what it depends on.

    python tools/stage_deps.py          # one line per stage whose deps miss or exceed its imports
    python tools/stage_deps.py --write  # rewrite dvc.yaml's code deps to match the imports

A stage's command runs one script; its import closure is every project module that
script imports, directly or through others (imports under ``if TYPE_CHECKING:`` do not
run and do not count; a package that loads its modules with ``pkgutil.iter_modules``
imports all of them). A code dependency in dvc.yaml is a file or a folder of .py files.
tests/test_stage_deps.py holds every stage to: code deps == import closure.
"""

from __future__ import annotations

import ast
import re
import signal
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the project, if not installed

from anchorvae.artifacts.atomic import write_text  # noqa: E402

PACKAGE = "anchorvae"
# The script a cmd runs: `python stages/x.py ...`, `python3 ./stages/x.py`, `./stages/x.py`.
SCRIPT = re.compile(r"^\s*(?:python3?\s+)?(?:\./)?(stages/\S+\.py)(?:\s|$)")


class BadDvcYaml(Exception):
    """dvc.yaml cannot be read, or a stage's command is not one this tool can follow."""


def _module_file(name: str, root: Path) -> Path | None:
    """The file of a project module by its dotted name (a package's __init__.py)."""
    base = root / Path(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported_names(tree: ast.AST) -> list[str]:
    """Dotted module names (and ``from`` targets that may be modules) the code imports."""
    names = []
    skipped = {
        id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and _is_type_checking(node)
        for child in node.body for n in ast.walk(child)
    }  # fmt: skip
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def _with_parents(name: str) -> list[str]:
    """``a.b.c`` -> a, a.b, a.b.c: importing a module runs its packages' __init__ first."""
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def import_closure(script: Path, root: Path = ROOT) -> set[Path]:
    """Every project file that running ``script`` imports, the script included."""
    seen: set[Path] = set()
    todo = [script]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        source = path.read_text()
        for name in _imported_names(ast.parse(source)):
            if name == "_bootstrap":  # stages/ is the script's own folder
                found = [script.parent / "_bootstrap.py"]
            elif name.split(".")[0] == PACKAGE:
                found = [_module_file(n, root) for n in _with_parents(name)]
            else:
                continue
            todo += [f for f in found if f is not None and f not in seen]
        if "iter_modules" in source and path.name == "__init__.py":
            todo += sorted(path.parent.glob("*.py"))
    return {p.relative_to(root) for p in seen}


def _expand(dep: str, root: Path) -> set[Path]:
    path = root / dep
    if path.is_dir():
        return {p.relative_to(root) for p in path.rglob("*.py") if "__pycache__" not in p.parts}
    return {Path(dep)} if path.suffix == ".py" else set()


def code_deps(stage: dict, root: Path = ROOT) -> set[Path]:
    """The .py files a stage depends on, folders expanded; BadDvcYaml if its deps are not a
    list of paths."""
    deps = stage.get("deps", [])
    if not isinstance(deps, list) or not all(isinstance(d, (str, dict)) for d in deps):
        raise BadDvcYaml(f"deps = {deps!r} is not a list of paths")
    return set().union(*(_expand(str(d), root) for d in deps if isinstance(d, str)))


def read_stages(dvc_yaml: Path) -> dict:
    """dvc.yaml's ``stages`` mapping; BadDvcYaml naming the file if it cannot be read."""
    try:
        stages = yaml.safe_load(dvc_yaml.read_text())["stages"]
    except (OSError, UnicodeDecodeError) as err:
        raise BadDvcYaml(f"{dvc_yaml}: cannot be read ({err})") from None
    except yaml.YAMLError as err:
        raise BadDvcYaml(f"{dvc_yaml}: is not valid YAML ({str(err).splitlines()[0]})") from None
    except (KeyError, TypeError):
        raise BadDvcYaml(f"{dvc_yaml}: has no `stages:` mapping") from None
    if not isinstance(stages, dict):
        raise BadDvcYaml(f"{dvc_yaml}: `stages:` is not a mapping")
    return stages


def stage_scripts(dvc_yaml: Path) -> dict[str, Path]:
    """stage name -> the script its cmd runs. A cmd that runs no stages/*.py script (so
    that its imports cannot be followed), or one whose script is missing, is an error."""
    scripts = {}
    for name, stage in read_stages(dvc_yaml).items():
        cmd = stage.get("cmd") if isinstance(stage, dict) else None
        match = SCRIPT.match(cmd) if isinstance(cmd, str) else None
        if match is None:
            raise BadDvcYaml(f"{dvc_yaml}: stage {name}: cmd {cmd!r} does not run a stage "
                             "script as `python stages/NAME.py ...`")  # fmt: skip
        script = Path(match[1])
        if not (dvc_yaml.parent / script).is_file():
            raise BadDvcYaml(f"{dvc_yaml}: stage {name}: {script} does not exist")
        scripts[name] = script
    return scripts


def mismatches(root: Path = ROOT) -> dict[str, tuple[set[Path], set[Path]]]:
    """stage -> (imported but not a dep, a dep but not imported), for stages that differ."""
    stages = read_stages(root / "dvc.yaml")
    found = {}
    for name, script in stage_scripts(root / "dvc.yaml").items():
        try:
            declared = code_deps(stages[name], root)
        except BadDvcYaml as err:
            raise BadDvcYaml(f"{root / 'dvc.yaml'}: stage {name}: {err}") from None
        imported = import_closure(root / script, root)
        if imported != declared:
            found[name] = (imported - declared, declared - imported)
    return found


def _listed(closure: set[Path], root: Path) -> list[str]:
    """A closure as dvc.yaml lists it: files, then each folder of which every .py file is
    in the closure as the folder alone (the highest such; short lists, and a module added
    to a folder the stage uses as a whole needs no dvc.yaml edit)."""
    whole = {
        folder for path in closure for folder in path.parents
        if folder != Path(".") and _expand(str(folder), root) <= closure
    }  # fmt: skip
    folders = {f for f in whole if not any(parent in whole for parent in f.parents)}
    files = [str(p) for p in sorted(closure) if not any(f in p.parents for f in folders)]
    return files + [str(folder) for folder in sorted(folders)]


def write_deps(root: Path = ROOT) -> None:
    """Replace each stage's code deps in dvc.yaml (lines under ``deps:`` naming anchorvae/
    or stages/ files) with its import closure, the script first; other lines stay."""
    scripts = stage_scripts(root / "dvc.yaml")
    lines, out, stage = (root / "dvc.yaml").read_text().splitlines(), [], None
    i = 0
    while i < len(lines):
        line = lines[i]
        if re.match(r"^  [\w-]+:$", line):
            stage = line.strip()[:-1]
        out.append(line)
        i += 1
        if line.strip() != "deps:" or stage not in scripts:
            continue
        kept = []
        while i < len(lines) and lines[i].lstrip().startswith("- "):
            path = lines[i].split("- ", 1)[1].split("#")[0].strip()
            if not path.startswith((f"{PACKAGE}/", "stages/")):
                kept.append(lines[i])
            i += 1
        script = str(scripts[stage])
        listed = _listed(import_closure(root / script, root), root)
        out += [f"      - {p}" for p in [script, *(p for p in listed if p != script)]] + kept
    write_text(root / "dvc.yaml", "\n".join(out) + "\n")  # whole or not at all (Ctrl-C)


def main() -> int:
    # `stage_deps.py | head`: end quietly when the reader goes, as other Unix tools do
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    if sys.argv[1:] not in ([], ["--write"]):
        print(f"stage_deps: {' '.join(sys.argv[1:])!r} is not an argument: expected none "
              "(check) or --write", file=sys.stderr)  # fmt: skip
        return 2
    try:
        if sys.argv[1:] == ["--write"]:
            write_deps()
        found = mismatches()
    except BadDvcYaml as err:
        print(f"stage_deps: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stage_deps: interrupted (dvc.yaml is never left half-written)", file=sys.stderr)
        return 130
    for name, (missing, extra) in found.items():
        for path in sorted(missing):
            print(f"{name}: imports {path}, which is not in its deps")
        for path in sorted(extra):
            print(f"{name}: depends on {path}, which its command does not import")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
