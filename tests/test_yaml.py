"""params.yaml is read as DVC reads it (YAML 1.2), so that a key or value means the same to
the stages, to `dvc params diff` and to dvc.lock (anchorvae/pipeline/params_file.py)."""

import json
import math
import subprocess
from pathlib import Path

import pytest
from dvc.utils.serialize import YAMLFileCorruptedError, parse_yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from anchorvae.pipeline.params import ParamsError
from anchorvae.pipeline.params_file import load_params, read_yaml

ROOT = Path(__file__).resolve().parents[1]

# Words and numbers YAML 1.1 (PyYAML) and YAML 1.2 (DVC) read differently, and their kin.
WORDS = ["on", "off", "On", "OFF", "yes", "no", "Yes", "NO", "y", "n", "Y", "true", "True",
         "FALSE", "null", "Null", "NULL", "~", "nan", ".nan", ".NaN", ".inf", "-.Inf", "inf",
         "=", "<<", "2001-12-14", "1:20", "190:20:30", "0o17", "017", "08", "0x1F", "0b101",
         "1_000", "1e3", "5e-05", "1E-3", "+1e+2", "1.", ".5", "-0", "+12", "0.1_0"]  # fmt: skip
INTEGER_NOTATIONS = ["{:d}", "{:+d}", "0{:o}", "0o{:o}", "0x{:x}", "0b{:b}", "{:_d}"]
FLOAT_NOTATIONS = ["{:e}", "{:E}", "{:.3g}", "{:.0e}", "{!r}", "{:f}"]


def _scalars():
    ints = st.tuples(st.sampled_from(INTEGER_NOTATIONS), st.integers(0, 10**6))
    floats = st.tuples(st.sampled_from(FLOAT_NOTATIONS), st.floats(1e-9, 1e9))
    written = st.one_of(ints, floats).map(lambda pair: pair[0].format(pair[1]))
    return st.one_of(st.sampled_from(WORDS), written)


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _dvc_reading(text: str):
    try:
        return parse_yaml(text, "params.yaml")
    except YAMLFileCorruptedError:
        return "refused"


def _ours(text: str):
    try:
        return read_yaml(text)
    except ParamsError:  # a key that is not a name: DVC reads it, no stage could use it
        return "not a name"
    except Exception as err:  # noqa: BLE001 (ruamel's YAMLError, as DVC's is)
        return "refused" if type(err).__module__.startswith("ruamel") else err


@settings(max_examples=300, deadline=None)
@given(key=_scalars(), value=_scalars(), flow=st.booleans())
def test_every_key_and_value_reads_as_dvc_reads_it(key, value, flow):
    text = f"{{{key}: [{value}]}}\n" if flow else f"{key}:\n  inner: {value}\n"
    theirs, ours = _dvc_reading(text), _ours(text)
    if ours == "not a name":
        assert not all(isinstance(k, str) for k in theirs), (text, theirs)
    else:
        assert _same(ours, theirs), (text, ours, theirs)


@pytest.mark.parametrize(
    ("word", "value"),
    [("on", "on"), ("off", "off"), ("yes", "yes"), ("y", "y"), ("true", True),
     ("1e3", 1000.0), ("5e-05", 5e-05), ("017", 17), ("0o17", 15), ("1:20", "1:20"),
     ("null", None)],
)  # fmt: skip
def test_words_and_numbers_are_yaml_1_2(word, value):
    """What PyYAML (YAML 1.1) read otherwise: on/off/yes as booleans, 1e3 as a string, 017
    as fifteen, 1:20 as eighty."""
    assert read_yaml(f"k: {word}\n") == {"k": value}


def _params_with(tmp_path: Path, old: str, new: str) -> Path:
    text = (ROOT / "params.yaml").read_text()
    assert old in text
    path = tmp_path / "params.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize("name", ["off", "no", "on", "yes"])
def test_a_variant_named_off_is_a_variant(tmp_path, name):
    """YAML 1.1 read `off:` as the key False and refused it; DVC runs `train@off`."""
    path = _params_with(tmp_path, "  two_axis:\n", f"  {name}:\n")
    params = load_params(path)
    assert name in params.variants
    assert name in parse_yaml(path.read_text(), str(path))["variants"]


def test_yes_is_not_true(tmp_path):
    """`conditional: yes` is the string "yes" to DVC, so it is refused, not trained as a
    CVAE that dvc.lock would record as `conditional: yes`."""
    path = _params_with(tmp_path, "    conditional: true\n", "    conditional: yes\n")
    with pytest.raises(ParamsError, match=r"references.cvae.conditional = 'yes' is invalid: "
                       "expected true or false"):  # fmt: skip
        load_params(path)


def test_a_variant_named_null_is_one_line(tmp_path):
    """`null:` is YAML 1.2's null key: no stage name could hold it."""
    path = _params_with(tmp_path, "  two_axis:\n", "  null:\n")
    with pytest.raises(ParamsError, match=r"params.yaml: None \(in variants\) is not a valid "
                       "key: keys are names$"):  # fmt: skip
        load_params(path)


@pytest.mark.slow
def test_dvc_names_the_stages_of_a_variant_named_off(tmp_path):
    """The stage names DVC expands from params.yaml hold the variant the project reads."""
    for name in ("dvc.yaml", "params.yaml"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    _params_with(tmp_path, "  two_axis:\n", "  off:\n")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["dvc", "init", "-q"], cwd=tmp_path, check=True)
    listed = subprocess.run(["dvc", "stage", "list", "--name-only"], cwd=tmp_path,
                            capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    variants = load_params(tmp_path / "params.yaml").variants
    assert "train@off" in listed
    assert {s.split("@")[1] for s in listed if s.startswith("train@")} == set(variants)


@pytest.mark.slow
def test_dvc_exp_run_s_changes_one_value_as_dvc_reads_it(tmp_path):
    """`-S` (DVC's own code for it) rewrites params.yaml whole, in its own layout, which
    the committed file is written in: the value set is the one line of `git diff` and the
    one key of `dvc params diff`, and this project reads it as DVC does."""
    from dvc.utils.hydra import apply_overrides

    for name in ("dvc.yaml", "params.yaml"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    for cmd in (
        ["git", "init", "-q"],
        ["dvc", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "p"],
    ):
        subprocess.run(cmd, cwd=tmp_path, check=True)  # fmt: skip
    before = read_yaml((tmp_path / "params.yaml").read_text())
    apply_overrides(tmp_path / "params.yaml", ["train.lr=0.002"])
    after = read_yaml((tmp_path / "params.yaml").read_text())
    assert after["train"].pop("lr") == 0.002 and before["train"].pop("lr") == 0.00175
    assert after == before
    diff = subprocess.run(["dvc", "params", "diff", "--json"], cwd=tmp_path,
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    changed = json.loads(diff)["params.yaml"]
    assert list(changed) == ["train.lr"] and changed["train.lr"]["new"] == 0.002
    diff = ["git", "diff", "--numstat", "params.yaml"]
    numstat = subprocess.run(diff, cwd=tmp_path, capture_output=True, text=True,
                             check=True).stdout.split()  # fmt: skip
    assert numstat[:2] == ["1", "1"], numstat  # one line out, one in
    lines = (tmp_path / "params.yaml").read_text().splitlines()
    assert "  lr: 0.002" in lines
