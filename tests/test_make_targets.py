"""Every `make` target the README and docs name runs under a test on tiny data, or this
file says why not: a command a user is told to run cannot break unnoticed."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from committed import documents_source
from tiny_repo import make

from synthetic import synthetic_raw_files, write_raw_files

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# target -> the test module that runs it through `make` (tiny_repo.make, so that the test
# runs the Makefile's own recipe), each checked below to do so
RUN_BY = {
    "repro": "test_pipeline.py",
    "push": "test_pipeline.py",
    "pull": "test_pipeline.py",
    "metrics": "test_pipeline.py",
    "exps": "test_dvc_experiments.py",
    "grid": "test_dvc_experiments.py",
    "study": "test_dvc_experiments.py",
    "sweep": "test_dvc_experiments.py",
    "generality": "test_dvc_experiments.py",
    "bench": "test_make_targets.py",
    "readme": "test_make_targets.py",
}
NOT_RUN = {
    "test": "the suite itself: a test cannot run it without recursing; CI runs it",
    "test-fast": "the suite without its slow tests: as for `make test`",
    "check-plots": "needs Debian's Chromium, which CI does not install (run by hand)",
    "offline-template": "downloads vega from the npm registry, and tests use no network",
}


def named_targets() -> set[str]:
    """`make X` where the documents show a command: in a code span or a code block."""
    text = "\n".join(document.read_text() for document in DOCUMENTS)
    return set(re.findall(r"(?:^|`)make ([a-z][\w-]*)", text, flags=re.MULTILINE))


def test_every_named_target_is_run_by_a_test_or_says_why_not():
    makefile = (ROOT / "Makefile").read_text()
    for target in named_targets():
        rule = rf"^(?:[\w-]+ )*{re.escape(target)}(?: [\w-]+)*:"  # alone or one of a list
        assert re.search(rule, makefile, re.MULTILINE), target
        assert target in RUN_BY or target in NOT_RUN, f"make {target}: no test runs it"
    for target, module in RUN_BY.items():
        assert f'make("{target}"' in (ROOT / "tests" / module).read_text(), (target, module)


@pytest.mark.slow  # about a minute: every benchmark row in fresh processes
def test_make_bench_prints_every_row_on_tiny_data(tmp_path):
    """Both benchmark scripts as `make bench` runs them, on 300 synthetic images, one
    repeat: a schema change that breaks them fails here."""
    write_raw_files(tmp_path / "mnist", synthetic_raw_files(n_train=300, n_test=100))
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["train"].update(epochs=1, batch_size=64)
    params["seeds"] = [0, 1]
    params["evaluate"]["grid_size"] = 4
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    args = (
        f"BENCH_ARGS=--mnist {tmp_path / 'mnist'} --params {tmp_path / 'params.yaml'} --repeats 1"
    )
    done = subprocess.run(make("bench", args), cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    for row in ("textbook loop", "in-memory autograd, 1 model", "anchorvae, K = 1",
                "anchorvae, K = 2 (params seeds)", "M2, K = 2 (10 labels per digit)",
                "M2 per model-epoch:", "eval/train"):  # fmt: skip
        assert row in done.stdout, done.stdout
    assert "Traceback" not in done.stderr


def test_make_readme_leaves_up_to_date_documents_as_they_are(tmp_path):
    """`make readme` in a copy of the repository: every generated block is already what
    the committed reports give, so no byte changes (the commit's documents and metrics
    where `make repro` on another CPU rewrote the metrics: tests/committed.py)."""
    documents = documents_source(ROOT, tmp_path / "committed")
    work = tmp_path / "work"
    work.mkdir()
    for name in ("README.md", "docs", "reports", "metrics", "dvc.yaml", "params.yaml",
                 "grids.yaml", "Makefile", "stages", "anchorvae"):  # fmt: skip
        source = documents if name in ("README.md", "docs", "reports", "metrics") else ROOT
        source = source / name
        if source.is_dir():
            shutil.copytree(source, work / name, ignore=shutil.ignore_patterns("__pyc*"))
        else:
            shutil.copy(source, work / name)
    for command in (["git", "init", "-q"], ["dvc", "init", "-q"]):
        subprocess.run(command, cwd=work, check=True)
    done = subprocess.run(make("readme"), cwd=work, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for document in DOCUMENTS:
        name = document.relative_to(ROOT)
        assert (work / name).read_text() == (documents / name).read_text(), document.name
