import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from anchorvae.method.scores import SCORES
from anchorvae.pipeline.params import ParamsError
from anchorvae.pipeline.params_file import load_params, parse_grids, parse_params

ROOT = Path(__file__).resolve().parents[1]


def test_repo_params_yaml_is_valid_and_complete():
    params = load_params(ROOT / "params.yaml")
    assert params.variants["baseline"].anchor_rate == 0.0
    assert params.variants["anchored"].anchor_rate > 0
    assert len(params.seeds) >= 2


def repo_raw(name: str = "params.yaml") -> dict:
    return yaml.safe_load((ROOT / name).read_text())


def changed(key: str, value) -> dict:
    """params.yaml (grids.yaml for a key under `grids`) with the dotted ``key`` set to
    ``value`` (or removed, for DELETE)."""
    raw = repo_raw("grids.yaml" if key.split(".")[0] == "grids" else "params.yaml")
    *parents, last = key.split(".")
    node = raw
    for part in parents:
        node = node[part]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return raw


DELETE = object()


def test_int_is_accepted_where_a_number_is_expected():
    assert parse_params(changed("train.lr", 1)).train.lr == 1.0


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("train.epochs", "ten", "train.epochs = 'ten'"),
        ("train.epochs", 2.5, "train.epochs = 2.5"),
        ("train.epochs", True, "train.epochs = True"),
        ("train.lr", -0.001, "train.lr = -0.001"),
        ("train.lr", 0, "train.lr = 0"),
        ("train.latent_dims", 0, "train.latent_dims = 0"),
        (
            "train.latent_dims",
            1025,
            "train.latent_dims = 1025 is invalid: expected an integer >= 1 and <= 1024",
        ),
        (
            "train.architecture",
            "resnet",
            "train.architecture = 'resnet' is invalid: expected one of mlp, conv",
        ),
        (
            "grids.generality.axes",
            {"train.epochs": [10, 10]},
            "grids.generality.axes.train.epochs = [10, 10] is invalid: expected distinct values",
        ),
        ("grids.generality.axes", {"Train": [1]}, "grids.generality.axes = {'Train': [1]}"),
        ("grids.generality.axes", {"train.epochs": []}, "grids.generality.axes = "),
        ("grids.generality.axes", {"train.epochs": [{"a": 1}]}, "grids.generality.axes = "),
        ("grids.generality.seeds", 1, "grids.generality.seeds = 1"),
        (
            "grids.study.seeds",
            30_000,
            "grids.study.seeds = 30000 is invalid: expected an integer >= 2 and <= 10000",
        ),
        ("train.epochz", 3, "train.epochz is an unknown key"),
        ("trian", {}, "trian is an unknown key"),
        ("seeds", [], "seeds = []"),
        ("seeds", [1, 1], "seeds = [1, 1]"),
        ("seeds", [-1], "seeds = [-1]"),
        ("seeds", 3, "seeds = 3"),
        ("templates.kind", "square", "templates.kind = 'square'"),
        (
            "templates.kind",
            "seed",
            "templates.kind = 'seed' is invalid: expected one of post, "
            "class_mean, clusters, bootstrap (the old name 'seed' is now 'post')",
        ),  # fmt: skip
        ("templates.clusters", 10, "templates.clusters = 10 is invalid with templates.kind = "
         "post, which does not take it: expected 0, or templates.kind = clusters"),
        ("templates.rounds", -1, "templates.rounds = -1 is invalid: expected an integer >= 0"),
        ("train.limit", 70_000, "train.limit = 70000 is invalid: expected an integer >= 0 and "
         "<= 60000 (MNIST has 60,000 training images; 0 keeps them all)"),
        ("evaluate.grid_size", 1000, "evaluate.grid_size = 1000 is invalid: expected an integer "
         ">= 2 and <= 100 (n x n decodes per model: beyond 100 the figure cannot show them"),
        ("variants.anchored.semi_supervised", None, "variants.anchored.semi_supervised is "
         "empty (null): expected a mapping of labels_per_class, seed and classify_weight"),
        ("grids.study.jobs", 0, "grids.study.jobs = 0"),
        ("variants", {"anchored": {"anchor_rate": 0, "scale": "raw", "anchors": {}}},
         "variants = "),
        ("variants", {"baseline": {"anchor_rate": 0, "scale": "raw", "anchors": {}}},
         "evaluate.control = 'anchored' is invalid: expected a key of variants"),
        ("clusters.k", 1, "clusters.k = 1 is invalid: expected an integer >= 0 and <= 200 (0 "
         "for none, else >= 2"),
        ("clusters.features", "tsne", "clusters.features = 'tsne' is invalid: expected one of "
         "pixels, pca, umap"),
        ("variants.anchored.anchors", {"clusters": "circle"}, "variants.anchored.anchors."
         "clusters is invalid with clusters.k = 0: expected clusters.k >= 2"),
        ("variants.anchored.anchors", {"clusters": [1, 1]}, "variants.anchored.anchors."
         "clusters = [1.0, 1.0] is invalid: a membership score takes a layout"),
        ("variants.anchored.anchors", {"digit": "axes"}, "variants.anchored.anchors.digit = "
         "axes is invalid: axes puts each of its 10 points on its own latent axis: expected "
         "train.latent_dims >= 10 (it is 2)"),
        ("variants.anchored.anchors", {"digit": "spiral"}, "variants.anchored.anchors = "),
        ("variants.anchored.anchors", {"digit": "circle", "donutness": 1.0},
         "variants.anchored.anchors is invalid: digit lays out points of its own"),
        ("variants.anchored.anchor_rate", -2, "variants.anchored.anchor_rate = -2"),
        ("variants.anchored.anchor_rat", 2, "variants.anchored.anchor_rat is an unknown key"),
        ("variants.anchored.anchors", {"roundness": [1, 1]}, "variants.anchored.anchors = "),
        ("variants.anchored.anchors", {"donutness": [0, 0]}, "variants.anchored.anchors = "),
        (
            "variants.anchored.anchors",
            {"donutness": [1, 1, 1]},
            "variants.anchored.anchors.donutness = [1.0, 1.0, 1.0]",
        ),
        ("variants.anchored.anchors", {}, "variants.anchored.anchor_rate = 2.0"),
        ("evaluate.grid_size", 1, "evaluate.grid_size = 1"),
        ("grids.sweep.metrics", [], "grids.sweep.metrics = []"),
        ("grids", {"Big": repo_raw("grids.yaml")["grids"]["study"]}, "grids = "),
        ("variants.anchored.anchors", {"donutness": 0.0}, "variants.anchored.anchors = "),
        ("train.lr", float("inf"), "train.lr = inf is invalid: expected a number > 0 and <= 10"),
        ("train.lr", float("nan"), "train.lr = nan"),
        ("variants.anchored.anchor_rate", float("inf"), "variants.anchored.anchor_rate = inf"),
        (
            "variants.anchored.anchors",
            {"donutness": [float("inf"), 1]},
            "variants.anchored.anchors = {'donutness': [inf, 1]} is invalid",
        ),
        ("train.device", "cpu", "train.device is an unknown key"),  # ANCHORVAE_DEVICE now
        ("data", {"timeout_s": 30}, "data is an unknown key"),  # ANCHORVAE_TIMEOUT_S now
        ("classifier.seed", 18446744073709551616, "classifier.seed = 18446744073709551616"),
        ("seeds", [0, 4294967296], "seeds = [0, 4294967296]"),
        ("variants.anchored", {}, "variants.anchored.anchor_rate is missing"),
        ("train.lr", DELETE, "train.lr is missing"),
        ("variants.anchored.anchor_rate", DELETE, "variants.anchored.anchor_rate is missing"),
        ("variants.baseline.anchors", DELETE, "variants.baseline.anchors is missing"),
        ("classifier", DELETE, "classifier is missing"),
        ("grids.generality.combine", True, "grids.generality.combine = True is invalid: expected "
         "one of product, each, zip"),
        ("grids.generality.figure", "bars", "grids.generality.figure = 'bars' is invalid"),
        ("grids.generality.variants", ["baseline", "anchored", "baseline"],
         "grids.generality.variants = "),
        ("variants.anchored.anchors", {"donutness": "1"}, "variants.anchored.anchors = "),
        ("templates.shots", 5, "templates.shots = 5 is invalid with templates.kind = post"),
        ("templates.shots", -1, "templates.shots = -1 is invalid: expected an integer >= 0"),
        ("templates.seed", DELETE, "templates.seed is missing"),
        ("variants.anchored.scale", "log", "variants.anchored.scale = 'log' is invalid: "
         "expected one of raw, standard"),
        ("variants.anchored.conditional", "yes", "variants.anchored.conditional = 'yes' is "
         "invalid: expected true or false"),
        ("references", {"CVAE": {"anchor_rate": 0.0, "scale": "raw", "anchors": {}}},
         "references = {'CVAE': "),
        ("references.cvae.anchor_rate", 2.0, "references.cvae.anchor_rate = 2.0 is invalid: a "
         "variant with no anchors is the plain VAE, expected 0"),
        ("variants.anchored.anchors", {"donutness": True}, "variants.anchored.anchors = "),
        ("references.m2.semi_supervised.labels_per_class", 0, "references.m2.semi_supervised."
         "labels_per_class = 0 is invalid: expected an integer >= 1"),
        ("references.m2.semi_supervised.seed", DELETE,
         "references.m2.semi_supervised.seed is missing"),
        ("references.m2.conditional", False, "references.m2.semi_supervised is invalid without "
         "conditional: true"),
        ("references.m2.anchors", {"donutness": 1.0}, "references.m2.semi_supervised is invalid "
         "with anchors"),
        ("variants.anchored.semi_supervised", {"labels_per_class": 1, "seed": 0,
                                               "classify_weight": 0.1},
         "variants.anchored.semi_supervised is invalid without conditional: true"),
        ("variants", {**repo_raw()["variants"], "x\n": {"anchor_rate": 0.0, "scale": "raw",
                                                        "anchors": {}}},
         "variants = "),  # `$` in a regex matches before a final newline
    ],
)  # fmt: skip
def test_bad_values_name_key_value_and_what_is_allowed(key, value, message):
    with pytest.raises(ParamsError) as info:
        if key.split(".")[0] == "grids":  # grids.yaml
            parse_grids(changed(key, value))
        else:
            parse_params(changed(key, value), tuple(SCORES))
    text = str(info.value)
    assert text.startswith(message)
    assert "\n" not in text
    assert any(word in text for word in ("expected", "allowed", "must be stated"))


@pytest.mark.parametrize(
    "key, allowed",
    [
        ("train.epochz", "epochs, batch_size, lr, latent_dims, architecture, limit"),
        (
            "variants.anchored.anchor_rat",
            "anchor_rate, scale, anchors, conditional, semi_supervised",
        ),
        (
            "trian",
            "templates, clusters, train, variants, references, seeds, classifier, evaluate",
        ),
    ],
)
def test_an_unknown_key_lists_the_keys_of_its_own_section(key, allowed):
    with pytest.raises(ParamsError, match=f"allowed are {allowed}$"):
        parse_params(changed(key, 1))


def test_a_key_given_twice_is_refused(tmp_path):
    text = (ROOT / "params.yaml").read_text() + "\ntrain:\n  epochs: 3\n"
    (tmp_path / "params.yaml").write_text(text)
    twice = r"params.yaml: train is given twice \(again on line \d+\): keep one$"
    with pytest.raises(ParamsError, match=twice):
        load_params(tmp_path / "params.yaml")


def test_unknown_score_names_the_known_ones():
    with pytest.raises(ParamsError, match=r"a score \(one of: clusters, digit, donutness"):
        parse_params(changed("variants.anchored.anchors", {"roundness": [1, 1]}), tuple(SCORES))


def test_a_top_level_that_is_not_a_mapping_is_refused():
    for raw in ([1, 2], None):
        with pytest.raises(ParamsError, match="expected a mapping at the top level"):
            parse_params(raw)


def test_unknown_variant_lists_the_known_ones():
    with pytest.raises(ParamsError, match="variant = 'fancy' is unknown: allowed are anchored, "):
        parse_params(repo_raw()).variant("fancy")


def test_unreadable_yaml_is_one_line(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text("train: [unclosed\n")
    with pytest.raises(ParamsError, match="is not valid YAML"):
        load_params(bad)


def test_stage_exits_2_with_one_line_and_writes_nothing(tmp_path):
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["train"]["lr"] = -1
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    out = tmp_path / "templates"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "stages" / "templates.py"),
            "--mnist",
            "nowhere",
            "--maps",
            str(tmp_path / "maps"),
            "--out",
            str(out),
            "--params",
            str(tmp_path / "params.yaml"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "train.lr = -1 is invalid: expected a number > 0" in lines[0]
    assert not out.exists()


def test_an_integer_python_cannot_read_is_one_line_in_a_stage(tmp_path):
    text = (ROOT / "params.yaml").read_text().replace("epochs: 10", "epochs: " + "9" * 5000, 1)
    (tmp_path / "params.yaml").write_text(text)
    out = tmp_path / "checked"
    result = subprocess.run(
        [sys.executable, str(ROOT / "stages" / "check_params.py"), "--out", str(out)],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "params.yaml: holds a value that cannot be read (Exceeds the limit" in line
    assert len(line) < 250 and not out.exists()


def test_bad_command_line_is_one_line_exit_2(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "stages" / "templates.py"), "--bogus"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("value", ["0.00005", "1e-3", "2.5E-4", "0.0001", "3"])
def test_every_number_dvc_exp_run_writes_is_read_back(tmp_path, value):
    """`dvc exp run -S train.lr=0.00005` writes `5e-05` (YAML 1.2), which YAML 1.1 reads as
    a string; the params reader takes it as the number it is."""
    from dvc.utils.hydra import apply_overrides

    path = tmp_path / "params.yaml"
    path.write_text((ROOT / "params.yaml").read_text())
    apply_overrides(path, [f"train.lr={value}"])
    assert load_params(path).train.lr == float(value)


@pytest.mark.parametrize(
    "text, message",
    [
        ("1: 2\n", r"params.yaml: 1 is not a valid key: keys are names$"),
        ("train:\n  3: x\n", r"params.yaml: 3 \(in train\) is not a valid key"),
        ("train:\n  lr: " + "9" * 400 + "\n", "train.lr = " + "9" * 59 + "… is invalid"),
    ],
)
def test_odd_yaml_is_one_short_line(tmp_path, text, message):
    path = tmp_path / "params.yaml"
    base = yaml.safe_load((ROOT / "params.yaml").read_text())
    odd = yaml.safe_load(text)
    for section, values in odd.items():
        if isinstance(values, dict) and isinstance(base.get(section), dict):
            base[section].update(values)
        else:
            base[section] = values
    path.write_text(yaml.safe_dump(base))
    with pytest.raises(ParamsError) as err:
        load_params(path)
    assert re.search(message, str(err.value)) and len(str(err.value)) < 250


def test_a_params_file_that_is_not_utf8_is_one_line(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_bytes((ROOT / "params.yaml").read_bytes() + b"\n# caf\xe9\n")
    with pytest.raises(ParamsError, match=r"params.yaml: is not UTF-8 text \(byte 0xe9 at"):
        load_params(path)


def test_the_most_seeds_allowed_fit_one_command_line_argument():
    """`make grid` passes `-S seeds=[0,...,N-1]` to DVC as one argument (Linux: 128 KiB)."""
    from anchorvae.pipeline.grid_params import GridParams

    most = GridParams.model_fields["seeds"].metadata[1].le
    argument = "seeds=[" + ",".join(str(s) for s in range(most)) + "]"
    assert subprocess.run(["true", argument]).returncode == 0


def test_an_integer_bound_is_written_whole_and_a_reference_needs_a_name_of_its_own():
    with pytest.raises(ParamsError, match=r"expected an integer >= 0 and <= 4294967295$"):
        parse_params(changed("templates.seed", 2**32))
    raw = repo_raw()
    raw["references"]["anchored"] = {**raw["references"]["cvae"]}
    with pytest.raises(ParamsError, match="references.anchored is invalid: a variant has that "
                       "name"):  # fmt: skip
        parse_params(raw)
    raw["references"]["anchored"] = raw["variants"]["anchored"]  # as a grid's cell holds it
    parse_params(raw)
