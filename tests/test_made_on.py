"""Committed metrics say which machine made them, and a run that gives other bytes says
why, instead of turning `make test` red (issue 42: the README's commands on any CPU)."""

import json
import subprocess

import pytest
import torch
from committed import documents_source

from anchorvae.artifacts.machines import check_record, parse_made_on
from anchorvae.errors import BadInputFile
from anchorvae.reports.made_on import explain
from anchorvae.training.arithmetic import fingerprint, machine_record

INTEL = {"device": "Intel Xeon", "threads": 2, "torch": "2.14.1", "arithmetic": "0123456789ab"}
AMD = {"device": "AMD EPYC", "threads": 2, "torch": "2.14.1", "arithmetic": "ba9876543210"}


def test_the_record_names_the_machine_and_its_arithmetic_repeats():
    record = machine_record("mlp", torch.device("cpu"))
    assert check_record(record, "x") == record
    assert record["threads"] == torch.get_num_threads()
    assert fingerprint("mlp", torch.device("cpu")) == record["arithmetic"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"threads": 0}, "threads is 0, expected a whole number >= 1"),
        ({"threads": 2.5}, "threads is 2.5"),
        ({"arithmetic": "not hex"}, "arithmetic is 'not hex', expected 12 hex digits"),
        ({"device": ""}, "device and torch must be non-empty text"),
        ({"extra": 1}, "not a machine record"),
    ],
)
def test_a_bad_record_is_one_line(change, message):
    with pytest.raises(BadInputFile, match=message):
        check_record({**INTEL, **change}, "metrics/made_on.json: anchored")
    with pytest.raises(BadInputFile, match="not the made_on stage's machine records"):
        parse_made_on([INTEL], "metrics/made_on.json")


def test_the_line_says_why_the_metrics_differ():
    changed = ["metrics/details.json", "metrics/variants/anchored.json"]
    assert explain([], {"anchored": INTEL}, {"anchored": AMD}) is None
    other_cpu = explain(changed, {"anchored": INTEL}, {"anchored": AMD})
    assert other_cpu.startswith("make repro: 2 metrics files differ from the committed ones")
    assert "trained on Intel Xeon" in other_cpu and "this run on AMD EPYC" in other_cpu
    assert "docs/speed.md" in other_cpu and "\n" not in other_cpu
    same = explain(changed, {"anchored": AMD}, {"anchored": AMD})
    assert "params, code or data differ from the commit" in same
    assert "records no machine" in explain(changed, None, {"anchored": AMD})
    one = explain(changed[:1], {"anchored": INTEL}, {"anchored": AMD})
    assert one.startswith("make repro: 1 metrics file differs from the committed ones")


def git(repo, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo,
                   check=True, capture_output=True)  # fmt: skip


def test_documents_are_checked_against_the_metrics_they_were_made_from(tmp_path):
    """The workspace as it stands; the commit's where a rerun rewrote only the metrics."""
    repo = tmp_path / "repo"
    (repo / "metrics").mkdir(parents=True)
    (repo / "README.md").write_text("placed 3/4\n")
    (repo / "metrics" / "details.json").write_text(json.dumps({"placed": 3}))
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "run")
    assert documents_source(repo, tmp_path / "a") == repo
    (repo / "metrics" / "details.json").write_text(json.dumps({"placed": 4}))  # another CPU
    committed = documents_source(repo, tmp_path / "b")
    assert committed == tmp_path / "b"
    assert json.loads((committed / "metrics" / "details.json").read_text()) == {"placed": 3}
    assert (committed / "README.md").read_text() == "placed 3/4\n"
    (repo / "README.md").write_text("placed 4/4\n")  # `make readme` after the rerun
    assert documents_source(repo, tmp_path / "c") == repo
