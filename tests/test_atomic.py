import os
import shutil
import tempfile
from pathlib import Path

import pytest

from anchorvae.artifacts import atomic
from anchorvae.artifacts.atomic import atomic_dir, atomic_path


def old_output(folder):
    folder.mkdir()
    for name in ("metrics.json", "centroids.tsv", "latent.csv", "grid.npy"):
        (folder / name).write_text(f"old {name}")


def test_a_failed_swap_puts_the_old_output_back(tmp_path, monkeypatch):
    out = tmp_path / "eval"
    old_output(out)
    real_replace = os.replace

    def refuse_the_new_one(src, dst):
        if ".old." not in str(src) and ".old." not in str(dst):
            raise PermissionError(13, "Permission denied", str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", refuse_the_new_one)
    with pytest.raises(PermissionError), atomic_dir(out) as tmp:
        (tmp / "metrics.json").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == [
        "centroids.tsv",
        "grid.npy",
        "latent.csv",
        "metrics.json",
    ]
    assert (out / "metrics.json").read_text() == "old metrics.json"
    assert [p.name for p in tmp_path.iterdir()] == ["eval"]


def test_an_old_output_that_cannot_be_removed_leaves_the_new_one_in_place(tmp_path, monkeypatch):
    out = tmp_path / "eval"
    old_output(out)
    monkeypatch.setattr(atomic.shutil, "rmtree", lambda path, ignore_errors=False: None)
    with atomic_dir(out) as tmp:
        (tmp / "metrics.json").write_text("new")
    assert [p.name for p in out.iterdir()] == ["metrics.json"]
    assert (out / "metrics.json").read_text() == "new"
    monkeypatch.undo()
    with atomic_dir(out) as tmp:  # the next run removes the leftover
        (tmp / "metrics.json").write_text("newer")
    assert [p.name for p in tmp_path.iterdir()] == ["eval"]


def test_stale_temporary_entries_of_killed_runs_are_removed_by_the_next_output(tmp_path):
    """Any output a process writes first in a folder clears every stale entry there, its
    own and other outputs' (whose stage DVC may find cached and never start)."""
    (tmp_path / ".tmp-models.abc123").mkdir()
    (tmp_path / ".tmp-models.abc123" / "model.pt").write_text("half")
    (tmp_path / ".tmp-summary.json.xyz").write_text("half")
    (tmp_path / ".tmp-other.q").mkdir()  # another output's
    with atomic_path(tmp_path / "summary.json") as tmp:
        tmp.write_text("{}")
        assert [p.name for p in tmp_path.iterdir()] == [tmp.name]  # only its own, being made
    (tmp_path / ".tmp-other.r").mkdir()  # made while this process runs: not stale to it
    with atomic_dir(tmp_path / "models") as tmp:
        (tmp / "model.pt").write_text("whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tmp-other.r", "models",
                                                          "summary.json"]  # fmt: skip


def test_make_repro_clears_what_killed_runs_left_in_every_output_folder(tmp_path):
    """A stage that DVC finds cached never starts: `make repro` clears the output folders
    first (tools/clean_staging.py), whatever stage left them."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    stale = [tmp_path / "data" / ".tmp-models__anchored.abc", tmp_path / "metrics" / ".tmp-x."]
    for path in stale:
        path.mkdir(parents=True)
    (stale[0] / "model.pt").write_text("half")
    (tmp_path / "data" / "mnist").mkdir()
    shutil.copy(root / "dvc.yaml", tmp_path / "dvc.yaml")
    tool = [sys.executable, str(root / "tools" / "clean_staging.py")]
    done = subprocess.run(tool, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert not any(path.exists() for path in stale)
    assert (tmp_path / "data" / "mnist").is_dir()
    assert "removed data/.tmp-models__anchored.abc" in done.stderr
    assert "clean_staging.py" in (root / "Makefile").read_text().split("repro:")[1]


def test_a_nested_output_stages_in_its_top_folder_out_of_other_stages_deps(tmp_path, monkeypatch):
    """data/models is a dependency of the plots stage as a whole: the temporary folders of
    data/models/anchored (and a killed run's leftovers) must not appear inside it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "models" / "baseline").mkdir(parents=True)
    stale = tmp_path / "data" / ".tmp-models__anchored.abc"
    stale.mkdir()
    with atomic_dir("data/models/anchored") as tmp:
        assert tmp.parent.resolve() == tmp_path / "data"
        assert sorted(p.name for p in (tmp_path / "data" / "models").iterdir()) == ["baseline"]
        (tmp / "model.pt").write_text("whole")
    assert not stale.exists()
    assert (tmp_path / "data" / "models" / "anchored" / "model.pt").read_text() == "whole"
    with atomic_dir("data/models/anchored") as tmp:  # replacing: the old one also moves aside
        (tmp / "model.pt").write_text("newer")
        assert not list((tmp_path / "data" / "models").glob(".tmp-*"))
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["models"]


def test_a_write_error_that_names_no_file_is_raised_naming_the_output(tmp_path):
    """numpy on a full disk: "12544 requested and 8064 written", no path; the stage's one
    line must still say which output failed."""
    from anchorvae.artifacts.atomic import atomic_dir, atomic_path

    out = tmp_path / "out.npy"
    with pytest.raises(OSError) as err, atomic_path(out):
        raise OSError("12544 requested and 8064 written")
    assert err.value.filename == str(out) and "12544 requested" in str(err.value)
    assert "is the disk full or over its quota?" in str(err.value)  # what a short write means
    with pytest.raises(OSError) as err, atomic_dir(tmp_path / "folder"):
        raise OSError(28, "No space left on device")
    assert err.value.filename == str(tmp_path / "folder") and err.value.errno == 28
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing half-written


def test_a_nested_output_on_another_file_system_stages_beside_itself(tmp_path, monkeypatch):
    """data/models linked onto another file system (here /dev/shm, a tmpfs): staging in
    data/ would make the final rename fail with "Invalid cross-device link"."""
    elsewhere = Path("/dev/shm")
    if not elsewhere.is_dir() or elsewhere.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("needs /dev/shm on a file system of its own")
    target = Path(tempfile.mkdtemp(dir=elsewhere))
    try:
        monkeypatch.chdir(tmp_path)
        (tmp_path / "data").mkdir()
        (tmp_path / "data" / "models").symlink_to(target)
        for attempt in range(2):  # a new output, then a replaced one
            with atomic_dir("data/models/anchored") as tmp:
                (tmp / "model.pt").write_text(str(attempt))
        assert (target / "anchored" / "model.pt").read_text() == "1"
        assert sorted(p.name for p in target.iterdir()) == ["anchored"]
        assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["models"]
    finally:
        shutil.rmtree(target)
