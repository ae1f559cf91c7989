"""End to end in a tiny repo of their own: a fresh clone reproduces every tracked file, and
`make sweep` and `make study` run as DVC experiments. (Their own module, so that `make test`
runs it beside tests/test_pipeline.py.)"""

import subprocess
import sys

import pytest
import yaml
from tiny_repo import commit, make_repo, ran_stages, run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """The tiny repo, reproduced and committed: what the experiments start from."""
    repo = make_repo(tmp_path_factory.mktemp("experiments"))
    run(["dvc", "repro"], repo)
    commit(repo, "first run")
    return repo


def test_a_fresh_clone_reproduces_every_tracked_file(repo):
    """`dvc repro` from nothing in a fresh clone rewrites every tracked output (metrics,
    tables, the headline figure, dvc.lock) byte for byte: `git status` stays clean."""
    clone = repo.parent / "fresh"
    run(["git", "clone", "-q", str(repo), str(clone)], repo.parent)
    assert "train@anchored" in ran_stages(run(["dvc", "repro"], clone))
    status = run(["git", "status", "--porcelain"], clone).strip()
    assert status == "", run(["git", "diff", "HEAD"], clone)[:3000]


def test_bad_sweep_rates_stop_before_anything_is_queued(repo):
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["sweep"]["rates"] = [1.0, -2.0]
    (repo / "bad_sweep.yaml").write_text(yaml.safe_dump(params))
    result = subprocess.run(
        [sys.executable, "stages/sweep.py", "queue", "--params", "bad_sweep.yaml"],
        cwd=repo, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "anchorvae: error: sweep.rates = [1.0, -2.0] is invalid: expected a non-empty list "
        "of numbers >= 0 and <= 1000"
    ]
    assert "sweep-" not in run(["dvc", "exp", "show", "--no-pager"], repo)
    (repo / "bad_sweep.yaml").unlink()


@pytest.mark.sweep  # skip with: make test PYTEST_ARGS='-m "not sweep"'
def test_sweep_queues_runs_and_reports_with_cached_baseline(repo):
    """One rate and the class-mean templates (the order of many rates is a unit test's)."""
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["sweep"].update(rates=[4.0], jobs=1)  # no stage reads `sweep`: nothing reruns
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    commit(repo, "a sweep of one rate")
    for step in ("queue", "wait"):
        run([sys.executable, "stages/sweep.py", step], repo)
    run([sys.executable, "stages/sweep.py", "report", "--csv", "reports/sweep.csv",
         "--figure", "reports/sweep.png"], repo)  # fmt: skip
    import pandas as pd

    table = pd.read_csv(repo / "reports" / "sweep.csv")
    assert table["experiment"].tolist() == ["sweep-rate-4", "sweep-class-mean"]
    assert (table["state"] == "Success").all()
    assert table["anchor_rate"].tolist() == [4.0, 2.0]
    assert table["anchored.placed_rate"].notna().all()
    assert table["anchored.test_recon.mean"].notna().all()
    assert table["anchored.zeros_in_corner.median"].notna().all()  # from details.json
    assert (repo / "reports" / "sweep.png").stat().st_size > 10_000
    # `make exps`: readable in a 120-column terminal, with the sweep's experiments
    exps = run([sys.executable, "stages/exps.py"], repo, env_extra={"COLUMNS": "120"})
    assert "sweep-rate-4" in exps and "two_axis" in exps
    assert max(len(line) for line in exps.splitlines()) <= 120, exps
    # The baseline models were not retrained in any experiment: DVC restored them.
    for name in table["experiment"]:
        log = run(["dvc", "queue", "logs", name], repo)
        assert "Running stage 'train@anchored'" in log
        assert "Running stage 'train@baseline'" not in log
        assert "Running stage 'classifier'" not in log


@pytest.mark.sweep
def test_study_runs_every_variant_as_one_temp_experiment_and_reports(repo):
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["study"]["seeds_per_variant"] = 2  # the workspace's seeds: DVC restores them
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["dvc", "repro"], repo)
    commit(repo, "study of 2 seeds")
    summary_before = (repo / "metrics" / "details.json").read_bytes()
    run([sys.executable, "stages/study.py", "run"], repo)
    run([sys.executable, "stages/study.py", "report"], repo)
    import pandas as pd

    table = pd.read_csv(repo / "reports" / "study.csv")
    assert table["variant"].tolist() == list(params["variants"])
    assert (table["n_seeds"] == 2).all()
    assert (repo / "reports" / "study.png").stat().st_size > 10_000
    # --temp: the workspace's params and metrics are the committed ones still
    assert (repo / "metrics" / "details.json").read_bytes() == summary_before
    status = run(["git", "status", "--porcelain", "params.yaml", "metrics"], repo)
    assert status.strip() == ""
