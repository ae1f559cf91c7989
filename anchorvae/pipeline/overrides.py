"""`-S KEY=VALUE` overrides applied to a params mapping as `dvc exp run -S` applies them.

DVC reads them with Hydra's override grammar: ``key=value`` sets a key that exists,
``+key=value`` adds one that does not, ``++key=value`` sets or adds, ``~key`` removes;
dots walk into mappings. Values are read as params.yaml's (YAML 1.2 numbers). Used where
DVC is not there to apply them (tools/run_without_dvc.py on a lent GPU) and to check
every cell of a grid before any is queued; tests/test_overrides.py holds the results to
DVC's own.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from ruamel.yaml import YAMLError

from anchorvae.errors import UsageError
from anchorvae.pipeline.params import ParamsError
from anchorvae.pipeline.params_file import read_yaml_value

OVERRIDE = re.compile(
    r"(?P<op>~|\+\+|\+)?(?P<key>[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)(?:=(?P<value>.*))?",
    re.DOTALL,
)


def apply_overrides(params: dict, overrides: list[str]) -> dict:
    """A copy of ``params`` with each override applied in turn; UsageError naming the
    first one that DVC would refuse too, and why."""
    result = copy.deepcopy(params)
    for text in overrides:
        _apply(result, text)
    return result


def _apply(params: dict, text: str) -> None:
    match = OVERRIDE.fullmatch(text)
    if match is None or (match["value"] is None and match["op"] != "~"):
        raise UsageError(f"-S {_shown(text)}: expected KEY=VALUE, +KEY=VALUE, ++KEY=VALUE or "
                         "~KEY, KEY a dotted params key")  # fmt: skip
    op, key = match["op"] or "", match["key"]
    *parents, last = key.split(".")
    node = _section(params, parents, text, create=op in ("+", "++"))
    value = None if match["value"] is None else _value(match["value"], text)
    if op == "~":
        if last not in node:
            raise UsageError(f"-S {_shown(text)}: there is no key {key} to remove")
        del node[last]
    elif op == "" and last not in node:
        raise UsageError(f"-S {_shown(text)}: there is no key {key} in params.yaml (to add "
                         f"one: +{key}=...)")  # fmt: skip
    elif op == "+" and last in node:
        raise UsageError(f"-S {_shown(text)}: {key} is there already (to set it: {key}=...)")
    else:
        node[last] = value


def _section(params: dict, parents: list[str], text: str, create: bool) -> dict:
    """The mapping at the dotted ``parents`` path: each step must be a mapping (one that is
    not there is made when a key is added)."""
    node = params
    for i, part in enumerate(parents):
        if create and part not in node:
            node[part] = {}
        if not isinstance(node.get(part), dict):
            where = ".".join(parents[: i + 1])
            what = "not there" if part not in node else "not a mapping"
            raise UsageError(f"-S {_shown(text)}: {where} is {what}, so it has no keys")
        node = node[part]
    return node


def _value(text: str, override: str) -> Any:
    if text == "":  # Hydra's `key=`: an empty string, where YAML would read null
        return ""
    try:
        return read_yaml_value(text)
    except (YAMLError, ParamsError, ValueError) as err:
        reason = " ".join(str(err).split())[:80]
        raise UsageError(f"-S {_shown(override)}: the value is not YAML ({reason})") from None


def _shown(text: str, limit: int = 60) -> str:
    return repr(text) if len(text) <= limit else repr(text[: limit - 1] + "…")
