"""Every file a stage or a tool reads goes through one checked reader: a damaged file is one
line naming it and what is wrong, never a traceback and never a number (anchorvae/artifacts/,
the report check of anchorvae/experiments/grid.py)."""

import io
import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from anchorvae.artifacts.anchor_points import read_anchor_points
from anchorvae.artifacts.arrays import load_maps, load_scores
from anchorvae.artifacts.evaluations import check_same_metrics, load_result, load_sample
from anchorvae.artifacts.models import read_history
from anchorvae.artifacts.tables import read_csv, read_json, read_text
from anchorvae.errors import BadInputFile, UsageError
from anchorvae.experiments.grid import check_report
from anchorvae.experiments.readback import headline_table
from anchorvae.pipeline.params_file import load_grids

ROOT = Path(__file__).resolve().parents[1]
METRICS = {"placed": True, "aligned": True, "zeros_in_corner": 0.9, "ones_in_corner": 0.95,
           "test_recon": 30.1, "test_kl": 5.0, "anchor_decode": 0.4}  # fmt: skip


def _evaluation(folder: Path, metrics: dict = METRICS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.json").write_text(json.dumps(metrics))
    rows = "\n".join(f"{d}\t{d * 0.1}\t{-d * 0.1}" for d in range(10))
    (folder / "centroids.tsv").write_text("digit\tz1\tz2\n" + rows + "\n")
    sample = "\n".join(f"{i * 0.1},{-i * 0.1},{i % 10}" for i in range(20))
    (folder / "latent.csv").write_text("z1,z2,digit\n" + sample + "\n")
    return folder


def _history(folder: Path, seeds=(0, 1), epochs=3) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"{e},{s},{50 - e}.5,{48 - e}.5,2.0" for e in range(1, epochs + 1) for s in seeds]
    (folder / "history.csv").write_text("epoch,seed,loss,recon,kl\n" + "\n".join(lines) + "\n")
    return folder


def test_a_metrics_file_without_a_key_every_model_has_is_named(tmp_path):
    folder = _evaluation(tmp_path / "seed0", {k: v for k, v in METRICS.items() if k != "test_kl"})
    with pytest.raises(BadInputFile, match=r"metrics.json lacks 'test_kl': not the evaluate"):
        load_result(folder)


def test_a_seed_whose_metrics_differ_from_the_others_is_named(tmp_path):
    """One seed without a key the others have (anchor_decode: not every model writes it)
    would be summarised into a mean of the other seeds."""
    results = {0: load_result(_evaluation(tmp_path / "seed0"))}
    odd = {k: v for k, v in METRICS.items() if k != "anchor_decode"}
    results[1] = load_result(_evaluation(tmp_path / "seed1", odd))
    with pytest.raises(BadInputFile, match=r"seed1/metrics.json lacks 'anchor_decode', unlike "
                       "seed0's"):  # fmt: skip
        check_same_metrics(results, tmp_path)
    check_same_metrics({0: results[0], 2: results[0]}, tmp_path)  # alike: passes


@pytest.mark.parametrize(
    ("cut", "message"),
    [(lambda text: text[: len(text) // 2], "empty or non-number cells"),
     (lambda text: "\n".join(text.splitlines()[:-1]) + "\n",
      r"seed 1 has epochs 1 to 2 \(2 rows\), expected 1 to 3"),
     (lambda text: text.replace("\n2,0,", "\n1,0,"),
      "seed 0 has epochs 1 to 3 .*expected 1 to 3 once each")],
)  # fmt: skip
def test_a_cut_history_is_refused_not_plotted_short(tmp_path, cut, message):
    folder = _history(tmp_path)
    assert len(read_history(folder)) == 6
    path = folder / "history.csv"
    path.write_text(cut(path.read_text()))
    with pytest.raises(BadInputFile, match=message):
        read_history(folder)


def test_points_of_booleans_or_nulls_are_not_an_anchors_file(tmp_path):
    """json.loads gives true for a point's coordinate; torch would decode it as 1.0."""
    for points in ([[True, False]] * 10, [[None, 1.0]] + [[0.5, 0.5]] * 9):
        (tmp_path / "anchors.json").write_text(json.dumps({"points": points}))
        with pytest.raises(BadInputFile, match="points are not lists of numbers"):
            read_anchor_points(tmp_path, 2)
    (tmp_path / "anchors.json").write_text(json.dumps({"points": [[0.5, -0.5]] * 10}))
    assert read_anchor_points(tmp_path, 2).shape == (10, 2)


def _project():
    """(params.yaml's mapping, the grids of grids.yaml)."""
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    return raw, load_grids(ROOT / "grids.yaml")


@pytest.mark.parametrize(
    ("damage", "rows"),
    [(lambda t: t.iloc[: len(t) // 2], 7), (lambda t: t.iloc[:0], 0),
     (lambda t: t.iloc[::-1], 14), (lambda t: t.assign(state=None), 14)],
)  # fmt: skip
def test_a_cut_or_stale_report_is_refused_before_make_readme_splices_it(damage, rows):
    raw, grids = _project()
    table = pd.read_csv(ROOT / "reports" / "sweep.csv")
    check_report(table, "sweep", grids["sweep"], raw, "reports/sweep.csv")
    with pytest.raises(BadInputFile, match=rf"reports/sweep.csv: not the report of grid sweep "
                       rf"as params.yaml plans it \({rows} rows, expected 14"):  # fmt: skip
        check_report(damage(table), "sweep", grids["sweep"], raw, "reports/sweep.csv")


def test_a_metrics_file_dvc_cannot_read_is_named_not_a_traceback():
    """`dvc exp show` marks a metrics file it could not parse with "!"."""
    rows = [{"rev": "workspace", "Experiment": None, "metrics/variants/anchored.json:sse": 30.5,
             "metrics/variants/anchored.json:placed": 4}]  # fmt: skip
    assert headline_table(rows)["placed"].tolist() == [4]
    rows[0]["metrics/variants/anchored.json:sse"] = "!"
    with pytest.raises(BadInputFile, match=r"metrics/variants/anchored.json of workspace: DVC "
                       "cannot read it as metrics"):  # fmt: skip
        headline_table(rows)


def test_text_that_is_not_utf8_is_named_with_its_byte(tmp_path):
    path = tmp_path / "README.md"
    path.write_bytes(b"# fine\ncaf\xe9\n")
    with pytest.raises(
        BadInputFile, match=r"README.md: not UTF-8 text \(byte 0xe9 at offset 10\)"
    ):
        read_text(path)


def _valid_files(tmp_path: Path) -> dict[str, tuple[Path, object]]:
    """file kind -> (a valid file of it, the reader that reads it)."""
    evaluation = _evaluation(tmp_path / "eval")
    history = _history(tmp_path / "models")
    maps = tmp_path / "maps"
    maps.mkdir()
    np.save(maps / "donut.npy", np.full((28, 28), 0.5, np.float32))
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((5, 1), np.float32))
    (tmp_path / "scores.npy").write_bytes(buffer.getvalue())
    (tmp_path / "models" / "anchors.json").write_text(json.dumps({"points": [[0.5, -0.5]] * 10}))
    return {
        "metrics.json": (evaluation / "metrics.json", lambda: load_result(evaluation)),
        "centroids.tsv": (evaluation / "centroids.tsv", lambda: load_result(evaluation)),
        "latent.csv": (evaluation / "latent.csv", lambda: load_sample(evaluation)),
        "history.csv": (history / "history.csv", lambda: read_history(history)),
        "anchors.json": (history / "anchors.json", lambda: read_anchor_points(history, 2)),
        "map .npy": (maps / "donut.npy", lambda: load_maps(maps)),
        "scores .npy": (tmp_path / "scores.npy",
                        lambda: load_scores(tmp_path / "scores.npy", 5, 1)),
        "a CSV": (tmp_path / "t.csv", lambda: read_csv(tmp_path / "t.csv")),
        "a JSON": (tmp_path / "t.json", lambda: read_json(tmp_path / "t.json")),
    }  # fmt: skip


def _finite(value) -> bool:
    """No NaN or inf in what a reader returned (a NaN share of an absent digit aside)."""
    if isinstance(value, dict):
        return all(_finite(v) for k, v in value.items() if not str(k).endswith("_in_corner"))
    if isinstance(value, (tuple, list)):
        return all(_finite(v) for v in value)
    if isinstance(value, float):
        return math.isfinite(value)
    if hasattr(value, "isfinite"):  # a tensor
        return bool(value.isfinite().all())
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return bool(np.isfinite(value).all())
    return True


KINDS = ["metrics.json", "centroids.tsv", "latent.csv", "history.csv", "anchors.json",
         "map .npy", "scores .npy", "a CSV", "a JSON"]  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=60, deadline=None, derandomize=True)
@given(keep=st.floats(0, 1), junk=st.binary(max_size=24))
def test_any_damage_to_any_file_gives_a_valid_result_or_one_line(kind, keep, junk):
    """The valid file cut anywhere with any bytes after: what the reader returns holds no
    number that is not finite (a share's NaN aside), or it is one line naming the file."""
    with tempfile.TemporaryDirectory() as folder:
        _read_damaged(Path(folder), kind, keep, junk)


def _read_damaged(tmp_path: Path, kind: str, keep: float, junk: bytes) -> None:
    path, read = _valid_files(tmp_path)[kind]
    if not path.exists():  # the generic readers: a small valid file of their own
        path.write_text("a,b\n1,2\n" if kind == "a CSV" else '{"a": [1, 2]}')
    valid = path.read_bytes()
    path.write_bytes(valid[: int(keep * len(valid))] + junk)
    try:
        result = read()
    except (BadInputFile, UsageError) as err:
        assert "\n" not in str(err) and path.name in str(err), str(err)
    else:
        assert _finite(result), result


@pytest.mark.parametrize(
    ("change", "message"),
    [({"placed": 5}, "placed = 5 is invalid: expected true or false"),
     ({"zeros_in_corner": 7.0}, "zeros_in_corner = 7.0 is invalid: expected a share in"),
     ({"anchor_decode": -0.1}, "anchor_decode = -0.1 is invalid: expected a share in"),
     ({"test_kl": -1.0}, r"test_kl = -1.0 is invalid: expected a finite number >= 0"),
     ({"placed_twice": 1}, "'placed_twice' is not a number the evaluate stage writes")],
)  # fmt: skip
def test_a_metrics_file_of_numbers_that_cannot_be_is_named(tmp_path, change, message):
    """Types alone pass "placed": 5 (summarised as placed) or a share of 7.0 (a mean share
    of 3.5): each number is held to what it means."""
    with pytest.raises(BadInputFile, match=message):
        load_result(_evaluation(tmp_path / "seed0", {**METRICS, **change}))
    load_result(_evaluation(tmp_path / "nan", {**METRICS, "zeros_in_corner": math.nan}))


def test_a_centroid_that_is_not_finite_or_a_grid_of_another_shape_is_named(tmp_path):
    folder = _evaluation(tmp_path / "seed0")
    path = folder / "centroids.tsv"
    path.write_text(path.read_text().replace("3\t0.30000000000000004", "3\tnan"))
    with pytest.raises(BadInputFile, match="centroids.tsv: not the evaluate stage's centroids"):
        load_result(folder)
    np.save(folder / "grid.npy", np.zeros((15, 15, 3, 3), np.uint8))
    with pytest.raises(BadInputFile, match=r"grid.npy holds uint8 of shape \(15, 15, 3, 3\)"):
        load_sample(folder)


@pytest.mark.parametrize(
    ("damage", "message"),
    [(lambda t: t.drop(columns="placed_rate"), "no column placed_rate, which placed needs"),
     (lambda t: t.drop(columns="anchor_decode.mean"),
      "no column anchor_decode.mean, which anchor_decode needs"),
     (lambda t: t.assign(state="Sucess"), "state 'Sucess'; allowed are Success, Failed"),
     (lambda t: t.drop(columns="templates.shots"), "no column templates.shots, an axis")],
)  # fmt: skip
def test_a_report_without_its_columns_or_states_is_named(damage, message):
    """reports/few_shot.csv without its placed_rate column would lose the placed column of
    docs/semantics.md without a word."""
    raw, grids = _project()
    table = pd.read_csv(ROOT / "reports" / "few_shot.csv")
    check_report(table, "few_shot", grids["few_shot"], raw, "reports/few_shot.csv")
    with pytest.raises(BadInputFile, match=rf"reports/few_shot.csv: not the report `make grid "
                       rf"NAME=few_shot` writes \({message}"):  # fmt: skip
        check_report(damage(table), "few_shot", grids["few_shot"], raw,
                     "reports/few_shot.csv")  # fmt: skip


@settings(max_examples=80, deadline=None, derandomize=True)
@given(key=st.sampled_from(sorted(METRICS)),
       value=st.one_of(st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True)))  # fmt: skip
def test_any_value_of_any_metric_is_read_as_what_it_means_or_refused(key, value):
    """Out-of-range values as well as damaged bytes: what load_result returns is a flag,
    a share in [0, 1] or a cost >= 0, each where its key says, or one line naming it."""
    from anchorvae.artifacts.evaluations import FLAG, MEANING, SHARE

    with tempfile.TemporaryDirectory() as folder:
        try:
            metrics = load_result(_evaluation(Path(folder), {**METRICS, key: value}))["metrics"]
        except BadInputFile as err:
            assert "\n" not in str(err) and "metrics.json" in str(err)
            return
    got = metrics[key]
    if MEANING[key] == FLAG:
        assert isinstance(got, bool)
    elif not (key.endswith("_in_corner") and math.isnan(got)):
        assert not isinstance(got, bool) and 0 <= got <= (1 if MEANING[key] == SHARE else math.inf)


def test_every_per_model_metric_has_its_meaning_and_no_other_key_does():
    """A new metric of the registry is read with a meaning, or this fails."""
    from anchorvae.artifacts.evaluations import MEANING
    from anchorvae.evaluation.kinds import ARRANGEMENT, AXIS
    from anchorvae.evaluation.metrics import METRICS as REGISTRY

    assert {m.key for m in REGISTRY if m.kind not in (ARRANGEMENT, AXIS)} == set(MEANING)
