"""End to end: the real dvc.yaml on tiny synthetic MNIST in a temporary git+DVC repo."""

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from committed import rerun_elsewhere
from tiny_repo import commit, make, make_repo, mirror_of, ran_stages, run, stage_env, tiny_params

from synthetic import synthetic_raw_files, write_raw_files

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return make_repo(tmp_path_factory.mktemp("pipeline"))


def test_repro_then_nothing_then_only_anchored(repo):
    first = run(make("repro"), repo)
    variants = yaml.safe_load((repo / "params.yaml").read_text())["variants"]
    expected = {
        "params",
        "download",
        "templates",
        "clusters",
        "classifier",
        "summarize",
        "made_on",
        "plots",
    } | {f"{stage}@{variant}" for stage in ("scores", "train", "evaluate") for variant in variants}
    assert ran_stages(first) == expected
    assert "\r" not in first  # no progress-bar redraws in a log that is not a terminal
    assert max(map(len, first.splitlines())) <= 120, first  # each "> cmd" DVC echoes too
    outputs = ["data/mnist/MNIST/raw/train-images-idx3-ubyte", "data/maps/donut.npy",
               "data/templates/templates.png", "data/models/anchored/seed1/model.pt",
               "data/models/baseline/history.csv", "data/classifier/model.pt",
               "metrics/classifier.json", "data/eval/anchored/seed0/metrics.json",
               "metrics/details.json", "metrics/models.csv", "plots/headline.png",
               "plots/training.csv", "plots/models/anchored_seed0_manifold.png"]  # fmt: skip
    for path in outputs:
        assert (repo / path).is_file(), path
    commit(repo, "first run")

    stale = repo / "data" / ".tmp-models__anchored.killed"  # what a SIGKILL leaves
    (stale / "seed0").mkdir(parents=True)
    assert ran_stages(run(make("repro"), repo)) == set()
    assert not stale.exists()  # cleared, though every stage was cached

    # One edit to a variant reruns only it (and every evaluation: each reads anchored's
    # anchor points for the plain VAE's control decode); a new variant is one edit to
    # params.yaml too, DVC's stages loop over its keys. Both in one `dvc repro`.
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["variants"]["anchored"]["anchor_rate"] = 3.0
    extra = "label_reference"  # the longest name of params.yaml's variants
    params["variants"][extra] = {"anchor_rate": 2.0, "scale": "raw", "anchors": {"label": 1.0}}
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert "variants.anchored.anchor_rate" in run(["dvc", "params", "diff"], repo)
    (stale / "seed0").mkdir(parents=True)  # a kill again; then plain `dvc repro`, no make
    output = run(["dvc", "repro"], repo)
    assert not stale.exists()  # the first stage that wrote in data/ removed it
    assert max(map(len, output.splitlines())) <= 120, output  # the longest variant name too
    assert ran_stages(output) == {"params", "scores@anchored", "train@anchored", "summarize",
                                  "made_on", "plots"} | {
        f"evaluate@{v}" for v in params["variants"]} | {
        f"{stage}@{extra}" for stage in ("scores", "train")}  # fmt: skip
    assert "anchored" in run(["dvc", "metrics", "diff"], repo)
    assert extra in json.loads((repo / "metrics" / "details.json").read_text())
    assert (repo / "metrics" / "variants" / f"{extra}.json").is_file()
    assert_screens_fit(repo, n_variants=3)

    # What a change of templates reruns: tests/test_dvc_experiments.py, in the sweep's
    # class-mean experiment.

    # Back to the committed run, for the tests that share this repo: git's files, DVC's
    # from its cache. A removed variant's outputs stay on disk, inside data/models and
    # data/eval, which summarize and plots depend on as wholes: remove them too (the
    # README says so).
    run(["git", "checkout", "HEAD", "--", "."], repo)  # not the index: DVC staged dvc.lock
    run(["git", "clean", "-fdq", "--", "metrics"], repo)
    for folder in ("models", "eval"):
        shutil.rmtree(repo / "data" / folder / extra)
    (repo / "data" / "scores" / f"{extra}.npy").unlink()
    run(["dvc", "checkout"], repo)
    assert ran_stages(run(["dvc", "repro"], repo)) == set()


# What the README shows: DVC's screens and ours, each within 120 columns.
SCREENS = {
    "dvc params diff": ["dvc", "params", "diff"],
    "dvc metrics diff": ["dvc", "metrics", "diff"],
    "dvc status": ["dvc", "status"],
    "dvc dag --md": ["dvc", "dag", "--md", "--collapse-foreach-matrix"],
    "dvc metrics show": ["dvc", "metrics", "show"],
    "make metrics": make("metrics"),
    "make exps": make("exps"),
    "dvc exp show, filtered": ["dvc", "exp", "show", "--no-pager", "--drop", ".*", "--keep",
                               "Experiment|.*/(baseline|anchored).json:placed$"],
}  # fmt: skip


def assert_screens_fit(repo: Path, n_variants: int) -> None:
    for name, command in SCREENS.items():
        output = run(command, repo, env_extra={"COLUMNS": "120"})
        assert max(map(len, output.splitlines())) <= 120, f"{name}:\n{output}"
        if "metrics" in name or "exps" in name or "params" in name:
            assert "label_reference" in output, f"{name}:\n{output}"
    table = run(SCREENS["make metrics"], repo).splitlines()
    assert table[0].split()[:3] == ["experiment", "variant", "placed"]  # placed first
    assert len(table) == 1 + n_variants


# A module edit and the stages DVC must then call changed (the rest stay up to date).
EDITS = {
    # not evaluate: only through the models it writes
    "anchorvae/training/train.py": {"train@{v}"},
    "anchorvae/evaluation/evaluate.py": {"evaluate@{v}"},
    "anchorvae/reports/figures.py": {"templates", "plots"},  # not training
    "anchorvae/evaluation/summary.py": {"summarize"},
    "anchorvae/method/scores/sevenness.py": {"params", "templates", "scores@{v}"},
}


@pytest.mark.parametrize("module", list(EDITS))
def test_editing_a_module_changes_exactly_the_stages_that_import_it(repo, module):
    variants = yaml.safe_load((repo / "params.yaml").read_text())["variants"]
    expected = {
        name.format(v=v) for name in EDITS[module] for v in (variants if "{v}" in name else [0])
    }
    source = (repo / module).read_text()
    (repo / module).write_text(source + "# an edit\n")
    try:
        status = json.loads(run(["dvc", "status", "--json"], repo) or "{}")
    finally:
        (repo / module).write_text(source)
    assert set(status) == expected


OUTPUTS_KEPT = ["data/mnist/MNIST/raw/train-images-idx3-ubyte", "metrics/details.json",
                "metrics/models.csv", "data/models/anchored/seed0/model.pt",
                "data/eval/baseline/seed1/metrics.json"]  # fmt: skip


@pytest.mark.parametrize(
    "edit, message",
    [
        ("sweeep: {}\n", "sweeep is an unknown key"),
        ("seed: [7]\n", "seed is an unknown key"),
        ("train:\n  lr: .inf\n", "train.lr = inf is invalid"),
    ],
)
def test_a_bad_params_file_stops_dvc_repro_before_any_output_is_removed(repo, edit, message):
    params = (repo / "params.yaml").read_text()
    kept = {path: (repo / path).read_bytes() for path in OUTPUTS_KEPT}
    text = params + edit if not edit.startswith("train:") else params.replace(
        "lr: 0.00175", "lr: .inf")  # fmt: skip
    assert text != params
    (repo / "params.yaml").write_text(text)
    env = stage_env(mirror_of(repo))
    result = subprocess.run(["dvc", "repro"], cwd=repo, capture_output=True, text=True, env=env)
    (repo / "params.yaml").write_text(params)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("anchorvae:")]
    assert len(errors) == 1 and message in errors[0], result.stderr[-2000:]
    assert ran_stages(result.stdout + result.stderr) == {"params"}
    for path, data in kept.items():
        assert (repo / path).read_bytes() == data, path
    assert ran_stages(run(["dvc", "repro"], repo)) <= {"params"}  # back: nothing else reruns


def test_trained_models_travel_through_the_default_remote(repo, tmp_path):
    """`make push` here, `make pull` in a fresh clone that does not lie beside this one
    (the remote is one folder per user, not per checkout): nothing is retrained there. A
    pull before any push names the folder it looked in; a relative HOME, which DVC would
    resolve inside the clone, is refused before anything moves."""
    home = {"HOME": str(tmp_path / "home")}  # .dvc/config: ~/.cache/anchorvae-dvc-storage
    storage = tmp_path / "home" / ".cache" / "anchorvae-dvc-storage"
    elsewhere = tmp_path / "elsewhere" / "deeper"
    elsewhere.mkdir(parents=True)
    shutil.copytree(mirror_of(repo), mirror_of(elsewhere / "clone"))
    clone = elsewhere / "clone"
    run(["git", "clone", "-q", str(repo), str(clone)], repo.parent)
    env = {**stage_env(mirror_of(clone)), **home}
    empty = subprocess.run(make("pull"), cwd=clone, capture_output=True, text=True, env=env)
    ours = [line for line in empty.stderr.splitlines()  # make's own line: make[1] in make
            if not re.match(r"make(\[\d+\])?: \*\*\*", line)]  # fmt: skip
    assert empty.returncode != 0 and len(ours) == 1, empty.stderr
    assert f"in remote shared ({storage})" in ours[0], ours[0]
    relative = {**stage_env(mirror_of(repo)), "HOME": "home"}
    refused = subprocess.run(make("push"), cwd=repo, capture_output=True, text=True,
                             env=relative)  # fmt: skip
    assert refused.returncode != 0
    assert "error: HOME = 'home' is not an absolute path" in refused.stderr, refused.stderr
    assert not (repo / "home").exists() and not (repo / ".dvc" / "~").exists()

    run(make("push"), repo, home)
    assert storage.is_dir() and any(storage.rglob("*"))
    run(make("pull"), clone, home)
    model = Path("data", "models", "anchored", "seed0", "model.pt")
    assert (clone / model).read_bytes() == (repo / model).read_bytes()
    assert json.loads(run(["dvc", "status", "--json"], clone)) == {}  # up to date as pulled
    assert ran_stages(run(["dvc", "repro"], clone)) == set()
    assert run(["git", "status", "--porcelain"], clone).strip() == ""

    # A corrupt object in the remote is refused (`verify = true`), never installed.
    digest = hashlib.md5((repo / model).read_bytes()).hexdigest()
    stored = storage / "files" / "md5" / digest[:2] / digest[2:]
    stored.write_bytes(b"not the model")
    second = repo.parent / "clone-of-corrupt"
    run(["git", "clone", "-q", str(repo), str(second)], repo.parent)
    env = {**stage_env(mirror_of(repo)), **home}
    pulled = subprocess.run(["dvc", "pull"], cwd=second, capture_output=True, text=True, env=env)
    assert pulled.returncode != 0
    assert not (second / model).exists() or (second / model).read_bytes() != b"not the model"


def test_a_fresh_clone_reproduces_every_tracked_file(repo):
    """`make repro` from nothing in a fresh clone rewrites every tracked output (metrics,
    tables, the headline figure, dvc.lock, the machine records) byte for byte: `git status`
    stays clean, and nothing is said of differing metrics; retrained where the arithmetic
    differs, it says why in one line. (Here, not beside the experiments' tests, so that
    the two long modules share the work.)"""
    clone = repo.parent / "fresh"
    run(["git", "clone", "-q", str(repo), str(clone)], repo.parent)
    output = run(make("repro"), clone)
    assert "train@anchored" in ran_stages(output)
    assert "make repro:" not in output
    status = run(["git", "status", "--porcelain"], clone).strip()
    assert status == "", run(["git", "diff", "HEAD"], clone)[:3000]

    # Where the arithmetic differs from the committed run's (3 threads here, which split
    # sums otherwise, as another CPU's math libraries do): other metrics, one line naming
    # both machines, and the documents checked against the commit's metrics.
    other = {"ANCHORVAE_THREADS": "3"}
    run(["dvc", "repro", "--force", "--single-item", "train@baseline", "train@anchored"],
        clone, other)  # fmt: skip
    [line] = [text for text in run(make("repro"), clone, other).splitlines()
              if text.startswith("make repro:")]  # fmt: skip
    assert "from the committed ones: they were trained on" in line, line
    assert "(2 threads," in line and "this run on" in line and "(3 threads," in line, line
    assert rerun_elsewhere(clone)  # tests/test_readme.py then reads the commit's files


def s3_client(endpoint: str):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip


@pytest.fixture
def s3_endpoint():
    """moto's S3-compatible server on 127.0.0.1, with one empty bucket: `anchorvae-team`."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    s3_client(endpoint).create_bucket(Bucket="anchorvae-team")
    yield endpoint
    server.stop()


def point_remote_at_s3(repo: Path, endpoint: str) -> None:
    """The README's team set-up, with the keys in the git-ignored .dvc/config.local."""
    for key, value in [("url", "s3://anchorvae-team/anchorvae"), ("endpointurl", endpoint),
                       ("access_key_id", "testing"), ("secret_access_key", "testing"),
                       ("region", "us-east-1")]:  # fmt: skip
        run(["dvc", "remote", "modify", "--local", "shared", key, value], repo)


def test_trained_models_travel_through_an_s3_remote(repo, s3_endpoint):
    """Push to S3 (moto on 127.0.0.1) from one clone, pull into another: nothing retrains."""
    point_remote_at_s3(repo, s3_endpoint)
    try:
        run(["dvc", "push"], repo)
    finally:
        (repo / ".dvc" / "config.local").unlink()
    listing = s3_client(s3_endpoint).list_objects_v2(Bucket="anchorvae-team", Prefix="anchorvae/")
    assert listing["KeyCount"] > 0
    clone = repo.parent / "s3-clone"
    run(["git", "clone", "-q", str(repo), str(clone)], repo.parent)
    point_remote_at_s3(clone, s3_endpoint)
    run(["dvc", "pull"], clone)
    model = Path("data", "models", "anchored", "seed0", "model.pt")
    assert (clone / model).read_bytes() == (repo / model).read_bytes()
    assert ran_stages(run(["dvc", "repro"], clone)) <= {"params"}  # its marker is not cached
    assert run(["git", "status", "--porcelain"], clone).strip() == ""


def stage_processes(repo: Path, script: str) -> list[int]:
    """Pids of processes running ``script`` with ``repo`` as their working folder."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            if any(script.encode() in part for part in cmdline):
                if Path(os.readlink(entry / "cwd")) == repo:
                    pids.append(int(entry.name))
        except (OSError, ValueError):
            continue
    return pids


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux-only")
@pytest.mark.parametrize("shell", ["/bin/sh", "/bin/bash"])  # dash keeps itself between
def test_killing_dvc_ends_the_stage_it_started(repo, shell):
    params_text = (repo / "params.yaml").read_text()
    params = yaml.safe_load(params_text)
    params["train"]["epochs"] = 100_000  # far longer than the test waits
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = {**stage_env(mirror_of(repo)), "SHELL": shell}  # DVC runs each cmd in $SHELL -c
    dvc = subprocess.Popen(["dvc", "repro", "train@baseline"], cwd=repo, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while not (children := stage_processes(repo, "stages/train.py")):
            assert time.monotonic() < deadline and dvc.poll() is None, "the stage never started"
            time.sleep(0.2)
        time.sleep(2.0)  # inside the training loop
        dvc.kill()  # SIGKILL: dvc cannot pass anything on
        dvc.wait()
        deadline = time.monotonic() + 30
        while stage_processes(repo, "stages/train.py"):
            assert time.monotonic() < deadline, f"stage {children} outlived dvc"
            time.sleep(0.2)
        assert not (repo / "data" / "models" / "baseline").exists()  # DVC removed it
        assert not list((repo / "data" / "models").glob(".tmp-*"))
    finally:  # a failure must not leave a 100,000-epoch stage or params to later tests
        dvc.kill()
        for pid in stage_processes(repo, "stages/train.py"):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        (repo / "params.yaml").write_text(params_text)
    run(["dvc", "repro"], repo)  # leave the shared repo up to date for the next tests


@pytest.mark.parametrize(
    "signum, code, word",
    [
        (signal.SIGINT, 130, "interrupted"),
        (signal.SIGTERM, 143, "terminated"),
    ],
)
def test_interrupted_training_leaves_no_output(tmp_path, signum, code, word):
    params = tiny_params()
    params["train"]["epochs"] = 100_000  # far longer than the test waits
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    write_raw_files(tmp_path / "mnist", synthetic_raw_files(n_train=300, n_test=100))
    out = tmp_path / "models" / "baseline"
    scores = tmp_path / "scores.npy"
    np.save(scores, np.zeros((300, 0), np.float32))
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "stages" / "train.py"), "baseline", str(tmp_path / "mnist"),
         str(scores), str(out), "--params", str(tmp_path / "params.yaml")],
        stderr=subprocess.PIPE, text=True,
        # A shell that starts pytest in the background makes it ignore SIGINT, and Python
        # then never installs its Ctrl-C handler in the child: restore the default.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    started = process.stderr.readline()  # the trainer logs one line as it starts
    assert "training 2 seeds" in started, started
    time.sleep(1.0)  # well inside the training loop
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == code, stderr[-2000:]
    assert stderr.strip().splitlines()[-1].endswith(f"{word}: no output was written")
    assert not out.exists()
    assert not out.parent.exists() or list(out.parent.iterdir()) == []
