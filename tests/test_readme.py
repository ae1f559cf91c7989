"""The documents' generated blocks come from the metrics files and dvc.yaml: they must agree."""

from pathlib import Path

import pytest
from committed import documents_source

from anchorvae.errors import BadInputFile, UsageError
from anchorvae.pipeline.params_file import load_grids
from anchorvae.reports.readme import (
    blocks,
    default_metrics,
    names_in,
    read_block,
    replace_block,
    rewrite,
)

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
GRIDS = load_grids(ROOT / "grids.yaml")
SHOWN = set(GRIDS)  # every grid has its committed report
REPORTS = {"summary": "metrics/details.json", **{name: f"reports/{name}.csv" for name in SHOWN}}


def make_blocks(files: dict) -> dict:
    grids = {name: (GRIDS[name], files[name]) for name in SHOWN}
    return blocks(files["summary"], grids, default_metrics(GRIDS), repo=ROOT)


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """The workspace, or the commit's documents and metrics where `make repro` on a CPU
    that rounds otherwise rewrote the metrics (tests/committed.py)."""
    return documents_source(ROOT, tmp_path_factory.mktemp("committed"))


@pytest.fixture(scope="module")
def generated(source) -> dict:
    return make_blocks({name: source / path for name, path in REPORTS.items()})


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_generated_blocks_match_the_metrics_files(document, source, generated):
    text = (source / document.relative_to(ROOT)).read_text()
    for name in names_in(text):
        assert read_block(text, name) == generated[name](), (
            f"{document.name}: block {name} is stale: run `make readme`"
        )


def test_every_block_shown_is_known_and_the_pipeline_is_dvc_s_own(generated):
    shown = {name for document in DOCUMENTS for name in names_in(document.read_text())}
    assert shown == {"default-run", "pipeline", "study", "study-details", *SHOWN}
    assert shown <= set(generated)
    pipeline = generated["pipeline"]()
    assert pipeline.startswith("```mermaid\nflowchart TD")
    assert '["train"]' in pipeline  # matrix stages drawn as one node


def test_replace_block_keeps_the_text_around_it():
    text = "a\n<!-- generated: x -->\nold\n<!-- end: x -->\nb\n"
    new = replace_block(text, "x", "| new |")
    assert new == "a\n<!-- generated: x -->\n| new |\n<!-- end: x -->\nb\n"
    assert read_block(new, "x") == "| new |"


def test_an_unknown_block_is_named(tmp_path):
    document = tmp_path / "page.md"
    document.write_text("<!-- generated: nope -->\n<!-- end: nope -->\n")
    with pytest.raises(UsageError, match="block nope is unknown"):
        rewrite(document, {"x": lambda: ""})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<!-- end: x -->\nold\n<!-- generated: x -->\n", "line 1: <!-- end: x --> is out of"),
        ("<!-- generated: x -->\n<!-- end: x -->\n<!-- generated: x -->\n<!-- end: x -->\n",
         r"line 3: <!-- generated: x --> is out of place \(a block given twice\)"),
        ("<!-- generated: x -->\n<!-- generated: y -->\n<!-- end: y -->\n<!-- end: x -->\n",
         "line 2: <!-- generated: y --> is out of place: expected <!-- end: x -->"),
        ("text\n<!-- generated: x -->\nold\n", "<!-- generated: x --> has no <!-- end: x -->"),
        ("<!-- generated: x -->\n<!-- end: y -->\n", "line 2: <!-- end: y --> is out of place"),
    ],
    ids=["reversed", "repeated", "nested", "unclosed", "mismatched"],
)  # fmt: skip
def test_markers_that_do_not_pair_up_are_one_line_and_nothing_is_written(tmp_path, text, message):
    document = tmp_path / "page.md"
    document.write_text(text)
    with pytest.raises(UsageError, match=message):
        rewrite(document, {"x": lambda: "| new |", "y": lambda: "| y |"})
    assert document.read_text() == text


@pytest.mark.parametrize(
    ("report", "content", "message"),
    [
        ("study", "", "not a CSV table"),
        ("sweep", "a,b\n1,2\n", "not the table `make grid NAME=sweep` writes \\(KeyError"),
        ("generality", "\x00\xff\xfe", "not"),
        ("summary", "{", "not a JSON document"),
        ("summary", "[1, 2]", "not the table the summarize stage writes"),
    ],
)
def test_a_bad_report_is_named(tmp_path, report, content, message):
    bad = tmp_path / "bad"
    bad.write_bytes(content.encode("latin-1"))
    files = {name: ROOT / path for name, path in REPORTS.items()} | {report: bad}
    with pytest.raises(BadInputFile, match=message) as err:
        made = make_blocks(files)
        made["default-run"](), made[report if report != "summary" else "default-run"]()
    assert str(bad) in str(err.value)


def test_make_readme_with_a_bad_report_leaves_the_documents_as_they_were(tmp_path):
    """One line naming the file (exit 1), and no document is touched."""
    import shutil
    import subprocess
    import sys

    pages = [tmp_path / "README.md", tmp_path / "study.md"]
    for page, source in zip(pages, DOCUMENTS, strict=False):
        page.write_text(source.read_text())
    shutil.copytree(ROOT / "reports", tmp_path / "reports")
    (tmp_path / "reports" / "study.csv").write_text("")
    command = [sys.executable, ROOT / "stages" / "readme.py", *pages, "--reports",
               tmp_path / "reports", "--summary", ROOT / "metrics" / "details.json"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 1, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert f"{tmp_path / 'reports' / 'study.csv'}: not a CSV table" in line
    assert [p.read_text() for p in pages] == [d.read_text() for d in DOCUMENTS[:2]]


def test_the_readme_stays_short_and_maps_the_code():
    """The README answers and points on: at most 150 lines, detail in docs/; its map of
    the code names every package of anchorvae/."""
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 150
    packages = [p.name for p in (ROOT / "anchorvae").iterdir() if (p / "__init__.py").exists()]
    assert packages and all(f"`{name}/`" in text for name in packages)


def test_no_metric_name_breaks_a_markdown_table():
    """A name is a table column heading in every report block: a "|" in it (as in
    "q(y | x)") would split the column."""
    from anchorvae.evaluation.metrics import METRICS

    assert not [m.name for m in METRICS if "|" in m.name]
