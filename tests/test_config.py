import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from anchorvae.config import Params, ParamsError, load_params, parse_params

ROOT = Path(__file__).resolve().parents[1]


def test_repo_params_yaml_is_valid_and_complete():
    params = load_params(ROOT / "params.yaml")
    assert params.variants["baseline"].anchor_rate == 0.0
    assert params.variants["anchored"].anchor_rate > 0
    assert len(params.seeds) >= 2


def test_empty_file_gives_defaults():
    assert parse_params(None) == Params()


def test_int_is_accepted_where_a_number_is_expected():
    assert parse_params({"train": {"lr": 1}}).train.lr == 1.0


@pytest.mark.parametrize(
    "raw, key_and_value",
    [
        ({"train": {"epochs": "ten"}}, "train.epochs = 'ten'"),
        ({"train": {"epochs": 2.5}}, "train.epochs = 2.5"),
        ({"train": {"epochs": True}}, "train.epochs = True"),
        ({"train": {"lr": -0.001}}, "train.lr = -0.001"),
        ({"train": {"lr": 0}}, "train.lr = 0"),
        ({"train": {"device": "tpu"}}, "train.device = 'tpu'"),
        ({"train": {"latent_dims": 0}}, "train.latent_dims = 0"),
        ({"train": {"epochz": 3}}, "train.epochz is an unknown key"),
        ({"trian": {}}, "trian is an unknown key"),
        ({"seeds": []}, "seeds = []"),
        ({"seeds": [1, 1]}, "seeds = [1, 1]"),
        ({"seeds": [-1]}, "seeds = [-1]"),
        ({"seeds": 3}, "seeds = 3"),
        ({"templates": {"kind": "square"}}, "templates.kind = 'square'"),
        ({"variants": {"baseline": {"anchor_rate": 0}}}, "variants = "),
        (
            {"variants": {"baseline": {}, "anchored": {"anchor_rate": -2}}},
            "variants.anchored.anchor_rate = -2",
        ),
        (
            {"variants": {"baseline": {}, "anchored": {"anchor_rat": 2}}},
            "variants.anchored.anchor_rat is an unknown key",
        ),
        ({"evaluate": {"grid_size": 1}}, "evaluate.grid_size = 1"),
        ([1, 2], "params = [1, 2]"),
        ({"sweep": {"rates": []}}, "sweep.rates = []"),
        ({"sweep": {"rates": ["fast"]}}, "sweep.rates[0] = 'fast'"),
        ({"sweep": {"rates": [1, -0.5]}}, "sweep.rates = [1, -0.5]"),
    ],
)
def test_bad_values_name_key_value_and_what_is_allowed(raw, key_and_value):
    with pytest.raises(ParamsError) as info:
        parse_params(raw)
    message = str(info.value)
    assert message.startswith(key_and_value)
    assert "\n" not in message
    assert "expected" in message or "allowed" in message


def test_unknown_variant_lists_the_known_ones():
    with pytest.raises(ParamsError, match="variant = 'fancy' is unknown: allowed are anchored, "):
        Params().variant("fancy")


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


def test_bad_command_line_is_one_line_exit_2(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "stages" / "templates.py"), "--bogus"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
