"""End to end in a tiny repo of their own: grids run as queued DVC experiments through
`make grid`, `make study` and `make sweep`.
(Their own module, so that `make test` runs it beside tests/test_pipeline.py.)"""

import subprocess
import sys

import pytest
import yaml
from tiny_repo import commit, make, make_repo, mirror_of, ran_stages, run, stage_env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """The tiny repo, reproduced and committed: what the experiments start from."""
    repo = make_repo(tmp_path_factory.mktemp("experiments"))
    run(["dvc", "repro"], repo)
    commit(repo, "first run")
    return repo


def set_grid(repo, name: str, message: str, **grid) -> None:
    """grids.yaml's grid ``name`` set to the project's generality grid updated with
    ``grid``, committed (no stage reads grids.yaml: nothing reruns)."""
    raw = yaml.safe_load((repo / "grids.yaml").read_text())
    raw["grids"][name] = {**raw["grids"]["generality"], **grid}
    (repo / "grids.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    commit(repo, message)


def test_a_grid_named_only_in_params_runs_and_reports_with_no_python_for_it(repo, tmp_path):
    """A new question is a params entry: two cells (the workspace's, which DVC restores
    from its run cache, and class-mean templates), two seeds, through `make grid`, to its
    CSV, figure and README block. (A reference a grid adds, such as the CVAE, is a `-S`
    value held to DVC's own parsing in tests/test_overrides.py; its stages run in
    tests/test_stages.py.)"""
    import pandas as pd

    axes = {"variants.anchored.anchor_rate": [2.0], "templates.kind": ["post", "class_mean"]}
    set_grid(repo, "question", "a grid of two cells", axes=axes, seeds=2,
             metrics=["placed", "anchor_decode", "test_recon"])  # fmt: skip
    run(make("grid", "NAME=question"), repo)  # queue, wait, report
    table = pd.read_csv(repo / "reports" / "question.csv")
    assert table["experiment"].tolist() == ["question-base"] * 2 + ["question-kind-class_mean"] * 2
    assert table["variant"].tolist() == ["baseline", "anchored"] * 2
    assert (table["state"] == "Success").all() and (table["n_seeds"] == 2).all()
    assert table["templates.kind"].tolist() == ["post", "post", "class_mean", "class_mean"]
    assert table["placed_rate"].notna().all() and table["test_recon.mean"].notna().all()
    assert table["anchor_decode.mean"].between(0, 1).all()  # the baseline: at anchored's
    assert table["zeros_in_corner.median"].notna().all()  # every statistic, not only shown
    assert (repo / "reports" / "question.png").stat().st_size > 10_000
    page = tmp_path / "page.md"
    page.write_text("# Q\n<!-- generated: question -->\n<!-- end: question -->\n")
    run([sys.executable, "stages/readme.py", str(page)], repo)
    assert "| 2 | class_mean | `anchored` | " in page.read_text()
    # `make exps`: readable in a 120-column terminal, with the grid's experiments
    exps = run(make("exps"), repo, env_extra={"COLUMNS": "120"})
    assert "question-kind-class_mean" in exps and "anchored" in exps
    assert max(len(line) for line in exps.splitlines()) <= 120, exps
    # Nothing is trained that the run cache holds: the baseline in neither experiment,
    # the anchored variant only where the templates changed.
    logs = {name: run(["dvc", "queue", "logs", name], repo) for name in set(table["experiment"])}
    assert "Running stage 'train@" not in logs["question-base"]
    # The baseline has no template score: its scores file comes out the same, so DVC keeps
    # its models when the templates change (its evaluation decodes anchored's points).
    assert ran_stages(logs["question-kind-class_mean"]) == {
        "params", "templates", "scores@baseline", "scores@anchored", "train@anchored",
        "evaluate@baseline", "evaluate@anchored", "summarize", "made_on", "plots"}  # fmt: skip


def test_make_study_runs_every_variant_as_one_experiment_and_leaves_the_workspace(repo):
    summary_before = (repo / "metrics" / "details.json").read_bytes()
    run(make("study"), repo)  # its seeds are the workspace's: DVC restores every stage
    import pandas as pd

    table = pd.read_csv(repo / "reports" / "study.csv")
    assert table["experiment"].tolist() == ["study-base"] * 2
    assert table["variant"].tolist() == ["baseline", "anchored"]
    assert (table["n_seeds"] == 2).all()
    assert (repo / "reports" / "study.png").stat().st_size > 10_000
    # a queued experiment: the workspace's params and metrics are the committed ones still
    assert (repo / "metrics" / "details.json").read_bytes() == summary_before
    status = run(["git", "status", "--porcelain", "params.yaml", "metrics"], repo)
    assert status.strip() == ""

    # A rerun its cells could not run (a setting every stage reads is bad here) is one line
    # naming it, before the last good experiment is removed or anything is queued.
    env = {**stage_env(mirror_of(repo)), "ANCHORVAE_DEVICE": "cuda"}
    done = subprocess.run(make("study"), cwd=repo, capture_output=True, text=True, env=env)
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("anchorvae:")]
    assert len(errors) == 1 and "ANCHORVAE_DEVICE = 'cuda'" in errors[0], done.stderr
    assert "study-base" in run(["dvc", "exp", "list", "--name-only"], repo).split()


def test_a_failed_rerun_keeps_the_last_good_experiment(repo):
    """A rerun of `make study` whose cell fails inside its experiment (train.lr = 10
    diverges) says so and keeps the last good study-base: a cell is replaced only by a
    run that succeeds."""
    from dvc.api import exp_show

    text = (repo / "params.yaml").read_text()
    params = yaml.safe_load(text)
    params["train"]["lr"] = 10.0
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        done = subprocess.run(make("study"), cwd=repo, capture_output=True, text=True,
                              env=stage_env(mirror_of(repo)))  # fmt: skip
    finally:
        (repo / "params.yaml").write_text(text)
    assert done.returncode != 0
    assert "1 of 1 experiments did not succeed: study-base (Failed)" in done.stderr
    kept = [row for row in exp_show(repo=str(repo)) if row.get("Experiment") == "study-base"]
    assert [(row["State"], row["train.lr"]) for row in kept] == [
        ("Success", yaml.safe_load(text)["train"]["lr"]),
        ("Failed", 10.0),
    ]
    run(["dvc", "queue", "remove", "--failed"], repo)  # the queue as the next tests expect


def test_a_second_grid_beside_a_running_one_is_one_line(repo):
    """Two grids share DVC's one queue: the second is refused, naming the first; the lock
    dies with its holder (kill -9 included), so it never blocks the next grid."""
    hold = (
        "import sys, time; sys.path.insert(0, '.'); "
        "from anchorvae.experiments.queue import one_grid_at_a_time\n"
        "with one_grid_at_a_time('sweep'):\n print('held', flush=True); time.sleep(600)"
    )
    holder = subprocess.Popen([sys.executable, "-c", hold], cwd=repo, stdout=subprocess.PIPE,
                              text=True)  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        done = subprocess.run(make("study"), cwd=repo, capture_output=True, text=True,
                              env=stage_env(mirror_of(repo)))  # fmt: skip
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode != 0, done.stderr  # the stage's 1, make's 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("anchorvae:")]
    assert len(errors) == 1, done.stderr
    assert f"make grid NAME=sweep (pid {holder.pid}) is running in this repo" in errors[0]
    from anchorvae.experiments.queue import GRID_LOCK, one_grid_at_a_time

    with one_grid_at_a_time("study", repo / GRID_LOCK):  # free again once its holder died
        pass


def test_make_grid_without_a_known_name_or_with_a_bad_grid_is_one_line(repo):
    for variables in ((), ("NAME=nope",)):
        done = subprocess.run(make("grid", *variables), cwd=repo, capture_output=True, text=True)
        assert done.returncode == 2, done.stderr
        assert "make grid needs NAME" in done.stderr or "grid 'nope' is unknown" in done.stderr
    # `make generality` is `make grid NAME=generality` (its cells run as the grids above)
    text = (repo / "grids.yaml").read_text()
    raw = yaml.safe_load(text)
    raw["grids"]["generality"]["variants"] = ["baseline", "nope"]
    (repo / "grids.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    try:
        done = subprocess.run(make("generality"), cwd=repo, capture_output=True, text=True)
    finally:
        (repo / "grids.yaml").write_text(text)
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("anchorvae:")]
    assert len(errors) == 1 and "grids.generality.variants" in errors[0], done.stderr


def _as_in_a_terminal() -> None:
    """Ctrl-C's default action, as a terminal gives it: a shell without job control starts
    a background command (`make test &`) with SIGINT ignored, and that would pass down."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(cmd, repo, log, start_new_session=False):
    """A process of ours in the tiny repo, its output (and DVC's) in the file ``log``."""
    from tiny_repo import mirror_of, stage_env

    return subprocess.Popen(cmd, cwd=repo, stdout=log, stderr=subprocess.STDOUT,
                            env=stage_env(mirror_of(repo)), preexec_fn=_as_in_a_terminal,
                            start_new_session=start_new_session)  # fmt: skip


def wait_for(path, text, timeout_s=120):
    import time

    deadline = time.monotonic() + timeout_s
    while text not in path.read_text():
        assert time.monotonic() < deadline, path.read_text()[-3000:]
        time.sleep(0.2)


def sweep_with_a_cell_running(repo, out, log):
    """`make sweep` in a session of its own (as a terminal starts it), once a cell trains."""
    import time

    process = start(make("sweep"), repo, out, start_new_session=True)
    wait_for(log, "waiting for the DVC queue")
    deadline = time.monotonic() + 120
    while "Running" not in run(["dvc", "queue", "status"], repo):
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.5)
    return process


def test_ctrl_c_on_make_sweep_stops_the_queue_worker_and_its_experiments(repo, tmp_path):
    """Ctrl-C, as a terminal sends it to the whole of `make sweep`, while it waits; then
    Ctrl-C again while it stops the queue: it stops the queue all the same."""
    import os
    import signal
    import time

    set_grid(
        repo,
        "sweep",
        "a sweep to interrupt",
        seeds=2,
        jobs=1,
        metrics=["placed"],
        axes={"variants.anchored.anchor_rate": [3.0, 5.0]},
        combine="product",
    )  # fmt: skip  (no cell of params.yaml's own values: each trains)
    log = tmp_path / "sweep.log"
    with open(log, "w") as out:
        process = sweep_with_a_cell_running(repo, out, log)
        os.killpg(process.pid, signal.SIGINT)
        wait_for(log, "stopping the DVC queue")
        time.sleep(0.5)
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=180) != 0
    status = run(["dvc", "queue", "status"], repo)
    assert "Queued" not in status and "Running" not in status, status
    assert "Failed" not in status, status  # the queue as it was before the command
    assert "0 active" in status or "No worker active" in status, status
    assert not (repo / "reports" / "sweep.csv").exists()


@pytest.mark.skipif(not __import__("os").environ.get("ANCHORVAE_LONG_TESTS"),
                    reason="40 s; tests/test_grid.py runs the watchdog against a stand-in "
                    "dvc in make test (set ANCHORVAE_LONG_TESTS=1 to run it)")  # fmt: skip
def test_kill_9_of_make_grid_s_group_stops_the_queue_worker_and_its_experiments(repo, tmp_path):
    """kill -9 of `make sweep`'s whole process group while a cell trains: nothing in it
    can stop the queue, and DVC's worker runs detached; the grid's watchdog (a session of
    its own) stops the worker and the grid's tasks and removes the cell's workspace."""
    import os
    import signal
    import time

    set_grid(repo, "sweep", "a sweep to kill", seeds=2, jobs=1, metrics=["placed"],
             axes={"variants.anchored.anchor_rate": [4.0, 6.0]}, combine="product")  # fmt: skip
    log = tmp_path / "sweep.log"
    with open(log, "w") as out:
        process = sweep_with_a_cell_running(repo, out, log)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        wait_for(log, "died while it waited on sweep-*: stopping its DVC queue work")
        deadline = time.monotonic() + 120
        while True:
            status = run(["dvc", "queue", "status"], repo)
            stopped = "Queued" not in status and "Running" not in status and "Failed" not in status
            if stopped and ("0 active" in status or "No worker active" in status):
                break
            assert time.monotonic() < deadline, status + log.read_text()[-3000:]
            time.sleep(1)
    assert "sweep-anchor_rate" not in status, status  # no cell ran on, none finished
    assert not list((repo / ".dvc" / "tmp" / "exps").glob("tmp*"))
    assert not list((repo / ".dvc" / "tmp").glob("anchorvae-grid-watch-*"))
