"""The checked readers of CSV and JSON files, which every other reader of a table or a
summary goes through: a file that is not the one expected (empty, not CSV or JSON,
without the columns a table needs) is one line naming it, never a traceback or a table
of wrong numbers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from anchorvae.errors import BadInputFile


def _reason(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return (text or type(err).__name__)[:120]


def read_csv(source, name: str | None = None, **options) -> pd.DataFrame:
    """pandas' read_csv (with its ``options``); a file that is empty or not CSV is a
    BadInputFile naming it."""
    try:
        return pd.read_csv(source, **options)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise BadInputFile(f"{name or source}: not a CSV table ({_reason(err)})") from None


def read_text(path: str | Path) -> str:
    """The UTF-8 text at ``path``; text in another encoding is a BadInputFile naming the
    file and the first byte that is not UTF-8."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise BadInputFile(f"{path}: not UTF-8 text (byte {err.object[err.start]:#04x} at "
                           f"offset {err.start})") from None  # fmt: skip


def read_json(path: str | Path):
    """The JSON document at ``path``; one that cannot be read is a BadInputFile naming it."""
    try:
        text = read_text(path)
    except BadInputFile as err:
        raise BadInputFile(f"{err}: not a JSON document") from None
    return parse_json(text, path)


def parse_json(text: str, name: str | Path):
    """The JSON document ``text`` (of file ``name``); a BadInputFile naming it if it is not
    JSON."""
    try:
        return json.loads(text)
    except ValueError as err:
        raise BadInputFile(f"{name}: not a JSON document ({_reason(err)})") from None


@contextmanager
def made_from(path: str | Path, writer: str) -> Iterator[None]:
    """Around the code that turns the table at ``path`` into a report: a column it lacks
    or a cell of the wrong type is a BadInputFile naming the file and what writes it."""
    try:
        yield
    except (KeyError, ValueError, TypeError, IndexError, AttributeError, OverflowError) as err:
        raise BadInputFile(
            f"{path}: not the table {writer} writes ({type(err).__name__}: {_reason(err)})"
        ) from None
