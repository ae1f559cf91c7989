"""End to end in a tiny repo of their own: a fresh clone reproduces every tracked file, and
`make sweep` and `make study` run as DVC experiments. (Their own module,
so that `make test` runs it beside tests/test_pipeline.py.)"""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tiny_repo import TWO_VARIANTS, commit, make, make_repo, ran_stages, run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """The tiny repo, reproduced and committed: what the experiments start from."""
    repo = make_repo(tmp_path_factory.mktemp("experiments"), TWO_VARIANTS)
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
        "of distinct numbers >= 0 and <= 1000"
    ]
    assert "sweep-" not in run(["dvc", "exp", "show", "--no-pager"], repo)
    (repo / "bad_sweep.yaml").unlink()


@pytest.mark.sweep  # skip with: make test PYTEST_ARGS='-m "not sweep"'
def test_sweep_queues_runs_and_reports_with_cached_baseline(repo):
    """The workspace's own rate and the class-mean templates: the first experiment is the
    committed run again, which DVC restores from its run cache (the order and names of
    many rates are unit tests')."""
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["sweep"].update(rates=[2.0], jobs=1)  # no stage reads `sweep`: nothing reruns
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    commit(repo, "a sweep of one rate")
    run(make("sweep"), repo)  # queue, wait, report
    import pandas as pd

    table = pd.read_csv(repo / "reports" / "sweep.csv")
    assert table["experiment"].tolist() == ["sweep-rate-2", "sweep-class-mean"]
    assert (table["state"] == "Success").all()
    assert table["anchor_rate"].tolist() == [2.0, 2.0]
    assert table["templates"].tolist() == ["post", "class_mean"]
    assert table["anchored.placed_rate"].notna().all()
    assert table["anchored.test_recon.mean"].notna().all()
    assert table["anchored.zeros_in_corner.median"].notna().all()  # from details.json
    assert (repo / "reports" / "sweep.png").stat().st_size > 10_000
    # `make exps`: readable in a 120-column terminal, with the sweep's experiments
    exps = run(make("exps"), repo, env_extra={"COLUMNS": "120"})
    assert "sweep-class-mean" in exps and "anchored" in exps
    assert max(len(line) for line in exps.splitlines()) <= 120, exps
    # Nothing is trained that the run cache holds: the baseline in neither experiment,
    # the anchored variant only where the templates changed.
    logs = {name: run(["dvc", "queue", "logs", name], repo) for name in table["experiment"]}
    assert "Running stage 'train@" not in logs["sweep-rate-2"]
    # The baseline has no template score: its scores file comes out the same, so DVC keeps
    # its models when the templates change (its evaluation decodes anchored's points).
    assert ran_stages(logs["sweep-class-mean"]) == {
        "params", "templates", "scores@baseline", "scores@anchored", "train@anchored",
        "evaluate@baseline", "evaluate@anchored", "summarize", "plots"}  # fmt: skip


@pytest.mark.sweep
def test_study_runs_every_variant_as_one_temp_experiment_and_reports(repo):
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["study"]["seeds_per_variant"] = 2  # the workspace's seeds: DVC restores them
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["dvc", "repro"], repo)
    commit(repo, "study of 2 seeds")
    summary_before = (repo / "metrics" / "details.json").read_bytes()
    run(make("study"), repo)  # run, report
    import pandas as pd

    table = pd.read_csv(repo / "reports" / "study.csv")
    assert table["variant"].tolist() == list(params["variants"])
    assert (table["n_seeds"] == 2).all()
    assert (repo / "reports" / "study.png").stat().st_size > 10_000
    # --temp: the workspace's params and metrics are the committed ones still
    assert (repo / "metrics" / "details.json").read_bytes() == summary_before
    status = run(["git", "status", "--porcelain", "params.yaml", "metrics"], repo)
    assert status.strip() == ""


def _as_in_a_terminal() -> None:
    """Ctrl-C's default action, as a terminal gives it: a shell without job control starts
    a background command (`make test &`) with SIGINT ignored, and that would pass down."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(cmd, repo, log, **env):
    """A process of ours in the tiny repo, its output (and DVC's) in the file ``log``."""
    from tiny_repo import mirror_of, stage_env

    return subprocess.Popen(cmd, cwd=repo, stdout=log, stderr=subprocess.STDOUT,
                            env={**stage_env(mirror_of(repo)), **env},
                            preexec_fn=_as_in_a_terminal)  # fmt: skip


def experiment_states(repo) -> dict[str, str]:
    """Experiment name -> its state as `dvc exp show` knows it ("running", "done", ...)."""
    import json

    states = {}
    for baseline in json.loads(run(["dvc", "exp", "show", "--json"], repo)):
        for experiment in baseline.get("experiments") or []:
            rev = experiment["revs"][0]
            executor = rev.get("executor") or {}
            states[rev.get("name") or rev["rev"]] = executor.get("state", "done")
    return states


def wait_for(path, text, timeout_s=120):
    import time

    deadline = time.monotonic() + timeout_s
    while text not in path.read_text():
        assert time.monotonic() < deadline, path.read_text()[-3000:]
        time.sleep(0.2)


def processes_running(text: str) -> list[str]:
    """The command lines of this machine's processes that hold ``text``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            line = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in line:
            found.append(line)
    return found


@pytest.mark.sweep
def test_an_interrupted_or_failed_study_leaves_the_last_one_and_a_clean_state(repo, tmp_path):
    import signal
    import time

    if "study" not in experiment_states(repo):
        run([sys.executable, "stages/study.py", "run"], repo)  # the study to keep
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["study"]["seeds_per_variant"] = 3  # a new seed: DVC must train, not restore
    (tmp_path / "three.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    study = [sys.executable, "stages/study.py", "run", "--params", str(tmp_path / "three.yaml")]
    log = tmp_path / "study.log"
    with open(log, "w") as out:
        process = start(study, repo, out)
        wait_for(log, "Running stage 'train")  # DVC in the middle of the pipeline
        process.send_signal(signal.SIGINT)  # what Ctrl-C sends to `make study`
        assert process.wait(timeout=180) == 130, log.read_text()[-3000:]
    states = experiment_states(repo)
    assert "running" not in states.values() and "study-next" not in states, states
    assert states.get("study") == "done"  # the last study, kept
    assert not list((repo / ".dvc" / "tmp" / "exps").glob("tmp*"))  # no workspace copy
    # Ctrl-C twice, a second apart: DVC and all it started are ended at once, and what the
    # killed run left does not block the next one. (Five seeds: three may be cached now.)
    params["study"]["seeds_per_variant"] = 5
    (tmp_path / "five.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    log = tmp_path / "twice.log"
    with open(log, "w") as out:
        process = start([*study[:-1], str(tmp_path / "five.yaml")], repo, out)
        wait_for(log, "Running stage 'train")
        process.send_signal(signal.SIGINT)
        time.sleep(1)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 130, log.read_text()[-3000:]
    assert not processes_running("--name study-next")  # no orphan goes on
    states = experiment_states(repo)
    assert "study-next" not in states and states.get("study") == "done", states
    # A rerun that fails (no CUDA here) says why and keeps the last study too. (Four
    # seeds: the interrupted run may have left seed 2's models in DVC's run cache.)
    params["study"]["seeds_per_variant"] = 4
    (tmp_path / "four.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    study[-1] = str(tmp_path / "four.yaml")
    log = tmp_path / "failed.log"
    with open(log, "w") as out:
        assert start(study, repo, out, ANCHORVAE_DEVICE="cuda").wait(timeout=300) == 1
    assert "ANCHORVAE_DEVICE" in log.read_text()  # the stage's own line, shown
    assert experiment_states(repo).get("study") == "done"
    run([sys.executable, "stages/study.py", "run"], repo)  # and the next run starts cleanly


@pytest.mark.sweep
def test_an_interrupted_sweep_stops_the_queue_worker_and_its_experiments(repo, tmp_path):
    import signal

    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["sweep"].update(rates=[3.0, 5.0], jobs=1)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    commit(repo, "a sweep to interrupt")
    run([sys.executable, "stages/sweep.py", "queue"], repo)
    log = tmp_path / "wait.log"
    with open(log, "w") as out:
        process = start([sys.executable, "stages/sweep.py", "wait"], repo, out)
        wait_for(log, "waiting for the DVC queue")
        assert "Running" in run(["dvc", "queue", "status"], repo)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=180) == 130
    status = run(["dvc", "queue", "status"], repo)
    assert "Queued" not in status and "Running" not in status, status
    assert "Failed" not in status, status  # the queue as it was before the command
    assert "0 active" in status or "No worker active" in status, status
    assert "stopping the DVC queue" in log.read_text()
