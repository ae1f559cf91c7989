"""Property-based: whatever params.yaml, settings or arguments hold, the answer is a valid
run or one line (exit 2), never a traceback."""

import copy
import json
import logging
import os
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_stages import stage

from anchorvae.errors import UsageError
from anchorvae.pipeline.cli import run_stage
from anchorvae.pipeline.params import ParamsError
from anchorvae.pipeline.params_file import load_grids, load_params, parse_params
from anchorvae.pipeline.settings import DownloadSettings, RunSettings, from_env

ROOT = Path(__file__).resolve().parents[1]
BASE = yaml.safe_load((ROOT / "params.yaml").read_text())
# derandomize: the same examples on every run, so a red CI is reproducible; explore more
# locally with `pytest tests/test_properties.py --hypothesis-seed=random`.
EXAMPLES = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip


@pytest.fixture(autouse=True)
def subnormal_floats():
    """Hypothesis draws subnormal floats, which a CPU set to flush them (what
    anchorvae.pipeline.runtime.configure_cpu does in any stage run in this worker) cannot hold."""
    import torch

    torch.set_flush_denormal(False)


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats()
    | st.text(max_size=12)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(scalars, inner, max_size=3),
    max_leaves=8,
)


def key_paths(node, prefix=()):
    """Every key path of the params mapping, sections and leaves alike."""
    for key, value in node.items():
        yield (*prefix, key)
        if isinstance(value, dict):
            yield from key_paths(value, (*prefix, key))


PATHS = sorted(key_paths(BASE))


def assert_one_line(message: str) -> None:
    assert message and "\n" not in message and len(message) < 500, message


@EXAMPLES
@given(path=st.sampled_from(PATHS), value=values)
def test_any_value_at_any_key_is_valid_or_one_line(path, value):
    raw = copy.deepcopy(BASE)
    node = raw
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    try:
        parse_params(raw)
    except ParamsError as err:
        assert_one_line(str(err))


@EXAMPLES
@given(document=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_file_is_valid_params_or_one_line(tmp_path, document):
    path = tmp_path / "params.yaml"
    path.write_bytes(document)
    with pytest.raises(ParamsError) as err:  # no such short document is a whole params.yaml
        load_params(path)
    assert_one_line(str(err.value))


@EXAMPLES
@given(
    model=st.sampled_from([RunSettings, DownloadSettings]),
    values=st.dictionaries(
        st.sampled_from(["DEVICE", "THREADS", "TIMEOUT_S", "MIRRORS", "INDEX_URL"]),  # fmt: skip
        st.text(max_size=30).filter(lambda v: "\0" not in v),
    ),
)
def test_any_settings_are_valid_or_one_line(model, values):
    env = {f"ANCHORVAE_{name}": value for name, value in values.items()}
    try:
        from_env(model, env)
    except UsageError as err:
        assert_one_line(str(err))


STAGES = ["check_params", "download", "templates", "clusters", "scores", "train", "classifier",
          "evaluate", "summarize", "plots", "grid", "readme",
          "exps"]  # fmt: skip
MAINS = {name: stage(name) for name in STAGES}


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@EXAMPLES
@given(name=st.sampled_from(STAGES), argv=st.lists(st.text(max_size=12), max_size=6))
def test_any_arguments_are_one_line_with_exit_2(tmp_path, name, argv):
    """In a folder without params.yaml no arguments can make a valid run: each ends in one
    line and exit 2 (or argparse's help, exit 0)."""
    lines = Lines()
    logger = logging.getLogger("anchorvae")
    logger.addHandler(lines)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with pytest.raises(SystemExit) as exit_:
            run_stage(MAINS[name], argv)
    finally:
        os.chdir(cwd)
        logger.removeHandler(lines)
    assert exit_.value.code in (0, 2), lines.messages
    if exit_.value.code == 2:
        assert len(lines.messages) == 1
        assert_one_line(lines.messages[0])


@pytest.mark.parametrize("size", [2**40, 2**62])  # 4 TiB: refused; 2^64 bytes: overflows
def test_running_out_of_memory_is_one_line_and_exit_1(size):
    import torch

    lines = Lines()
    logging.getLogger("anchorvae").addHandler(lines)
    try:
        with pytest.raises(SystemExit) as exit_:
            run_stage(lambda argv: torch.empty(size), [])
    finally:
        logging.getLogger("anchorvae").removeHandler(lines)
    assert exit_.value.code == 1
    [message] = lines.messages
    assert message.startswith("failed: out of memory (") and "fewer seeds" in message
    assert_one_line(message)


# The files stages and `make readme` read: whatever they hold, a valid result or one line.
ANCHORS_TEXT = st.binary(max_size=120).map(lambda b: b.decode("latin-1")) | st.builds(
    lambda points: json.dumps({"points": points}),
    st.none()
    | values
    | st.lists(st.lists(st.floats() | st.integers(-9, 9), max_size=3), max_size=11),  # fmt: skip
)


@EXAMPLES
@given(text=ANCHORS_TEXT)
def test_any_anchors_file_gives_finite_points_or_one_line(tmp_path, text):
    from anchorvae.artifacts.anchor_points import ANCHORS, read_anchor_points
    from anchorvae.digits import ANCHORED_DIGITS
    from anchorvae.errors import BadInputFile

    (tmp_path / ANCHORS).write_text(text, encoding="latin-1")
    try:
        points = read_anchor_points(tmp_path, 2)
    except BadInputFile as err:
        assert_one_line(str(err))
        return
    if points is not None:
        assert points.shape == (10, 2) and points[list(ANCHORED_DIGITS)].isfinite().all()


GRIDS = load_grids(ROOT / "grids.yaml")
GRID_NAMES = tuple(GRIDS)  # every grid has its committed report
REPORTS = {"details": ROOT / "metrics" / "details.json",
           **{name: ROOT / "reports" / f"{name}.csv" for name in GRID_NAMES}}  # fmt: skip
SHOWN = ("default-run", "study-details", *GRID_NAMES)


@st.composite
def damaged_report(draw):
    """(report, text): a committed report cut short, a cell or a column changed, or any text."""
    name = draw(st.sampled_from(sorted(REPORTS)))
    text = REPORTS[name].read_text()
    lines = text.splitlines()
    how = draw(st.sampled_from(["cut", "cell", "column", "any"]))
    if how == "cut":
        text = text[: draw(st.integers(0, len(text)))]
    elif how == "cell" and name != "details":
        row = draw(st.integers(0, len(lines) - 1))
        cells = lines[row].split(",")
        cells[draw(st.integers(0, len(cells) - 1))] = draw(st.text(max_size=6) | scalars.map(str))
        lines[row] = ",".join(cells)
        text = "\n".join(lines) + "\n"
    elif how == "column" and name != "details":
        drop = draw(st.integers(0, len(lines[0].split(",")) - 1))
        text = "\n".join(",".join(c for i, c in enumerate(line.split(",")) if i != drop)
                         for line in lines) + "\n"  # fmt: skip
    else:
        text = draw(st.text(max_size=200))
    return name, text


@EXAMPLES
@given(report=damaged_report())
def test_any_report_gives_the_readme_blocks_or_one_line(tmp_path, report):
    from anchorvae.errors import BadInputFile
    from anchorvae.reports.readme import report_blocks

    name, text = report
    files = dict(REPORTS)
    files[name] = tmp_path / REPORTS[name].name
    files[name].write_text(text)
    grids = {n: (GRIDS[n], files[n]) for n in GRID_NAMES}
    blocks = report_blocks(files["details"], grids, GRIDS["study"].metrics)
    try:
        made = {name: blocks[name]() for name in SHOWN}
    except BadInputFile as err:
        assert_one_line(str(err))
        assert str(files[name]) in str(err)
        return
    assert all(isinstance(block, str) for block in made.values())


MARKER_PIECES = st.lists(
    st.sampled_from(
        [
            "<!-- generated: x -->",
            "<!-- end: x -->",
            "<!-- generated: y -->",
            "<!-- end: y -->",
            "text",
            "<!-- generated: x-->",
            "\n",
        ]
    ),  # fmt: skip
    max_size=8,
)


@EXAMPLES
@given(pieces=MARKER_PIECES)
def test_any_markers_give_each_block_once_or_one_line(tmp_path, pieces):
    from anchorvae.reports.readme import check_markers, names_in, read_block, rewrite

    document = tmp_path / "page.md"
    text = "\n".join(pieces)
    document.write_text(text)
    try:
        new = rewrite(document, {"x": lambda: "| X |", "y": lambda: "| Y |"})
    except UsageError as err:
        assert_one_line(str(err))
        return
    check_markers(new, document)
    for name in names_in(text):
        assert (
            new.count(f"| {name.upper()} |") == 1
            and read_block(new, name) == f"| {name.upper()} |"
        )
