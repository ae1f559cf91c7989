"""Reading params.yaml into the schema (params.py): YAML 1.2 read as DVC reads it, a key
given twice or one that is not a name refused, and every validation error turned into one
line naming the key, the value and what is allowed."""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML, YAMLError
from ruamel.yaml.constructor import DuplicateKeyError

from anchorvae.pipeline.fields import shown
from anchorvae.pipeline.grid_params import GridParams, GridsFile
from anchorvae.pipeline.params import Params, ParamsError


def _walk(model: type[BaseModel], loc: tuple) -> tuple[Any, Any]:
    """(FieldInfo of the last named field on ``loc``, the type found at its end)."""
    info, current = None, model
    parts = list(loc)
    while parts:
        part = parts.pop(0)
        fields = getattr(current, "model_fields", None)
        if not isinstance(part, str) or fields is None or part not in fields:
            break
        info = fields[part]
        current = _section_of(info.annotation)
        if typing.get_origin(current) is dict:  # a named entry: skip its key
            value = typing.get_args(current)[1]
            if hasattr(value, "model_fields") and parts:
                parts.pop(0)
                current = value
    return info, current


def _section_of(annotation: Any) -> Any:
    """The section an optional one is (``X | None`` -> X); any other type as it is."""
    if isinstance(annotation, types.UnionType):
        sections = [a for a in typing.get_args(annotation) if hasattr(a, "model_fields")]
        return sections[0] if sections else annotation
    return annotation


KEY_CHARS = 40  # a key longer than this is cut in a message


def key_of(loc: tuple) -> str:
    """("sweep", "rates", 1) -> "sweep.rates[1]"."""
    key = ""
    for part in loc:
        text = str(part) if len(str(part)) <= KEY_CHARS else str(part)[: KEY_CHARS - 1] + "…"
        key += f"[{text}]" if isinstance(part, int) else f".{text}" if key else text
    return key


def one_line(err: ValidationError, model: type[BaseModel], scores: tuple[str, ...] = ()) -> str:
    """The first error of ``err`` as one line naming the key, the value and what is allowed."""
    first = err.errors()[0]
    loc, kind = first["loc"], first["type"]
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, ParamsError):  # a rule across keys wrote its own message
        where = key_of(loc)  # the section it ran in, if the message names keys within it
        inside = where and not str(cause).startswith(where.split(".")[0])
        return f"{where}.{cause}" if inside else str(cause)
    key = key_of(loc)
    info, _ = _walk(model, loc)
    if kind == "missing":
        return f"{key} is missing: every key must be stated in params.yaml"
    if kind == "extra_forbidden":
        _, parent = _walk(model, loc[:-1])  # the section the key was found in
        allowed = ", ".join(parent.model_fields)
        return f"{key} is an unknown key: allowed are {allowed}"
    if info is None or info.description is None:
        return f"{key} = {shown(first['input'])} is invalid: expected {_kind_of(kind)}"
    named = ", ".join(scores) or "see anchorvae/method/scores"
    allowed = info.description.replace("{scores}", named)
    return f"{key} = {shown(first['input'])} is invalid: expected {allowed}"


def _kind_of(error_type: str) -> str:
    """What a value of a structural error should have been (a mapping where a section is)."""
    return "a mapping" if error_type in ("model_type", "dict_type") else "a valid value"


def parse_params(raw: Any, scores=None) -> Params:
    """Validate a params mapping (as loaded from YAML) into :class:`Params`; with
    ``scores`` (names, or name -> the scales it takes), every anchor must name one of
    them, and take the variant's scale."""
    if not isinstance(raw, dict):
        raise ParamsError(f"params = {raw!r} is invalid: expected a mapping at the top level")
    context = {"scores": tuple(scores)} if scores is not None else {}
    if isinstance(scores, dict):
        context["scales"] = scores
        scores = tuple(scores)
    try:
        return Params.model_validate(raw, context=context)
    except ValidationError as err:
        raise ParamsError(one_line(err, Params, scores or ())) from None


def read_yaml(text: str) -> Any:
    """YAML text read exactly as DVC reads params.yaml (dvc.utils.serialize.parse_yaml:
    ruamel.yaml's safe loader, YAML 1.2, an empty file an empty mapping), so that a value
    means the same to every stage, to `dvc params diff` and to dvc.lock: ``off`` and
    ``yes`` are names, ``5e-05`` a number, ``017`` seventeen (tests/test_yaml.py holds it
    to DVC's reading). DVC's own function is not called: tools/run_without_dvc.py reads
    params where DVC is not installed. ParamsError for a key given twice (DVC refuses it
    too) and for a key that is not a name; ruamel's YAMLError for any other fault."""
    return read_yaml_value(text) or {}


def read_yaml_value(text: str) -> Any:
    """One YAML value (a document or a `-S` value) read as :func:`read_yaml` reads one."""
    try:
        data = YAML(typ="safe").load(text)
    except DuplicateKeyError as err:
        key = re.search(r'found duplicate key "(.*?)" with value', err.problem or "")
        line = err.problem_mark.line + 1 if err.problem_mark else "?"
        name = key[1] if key else "a key"
        raise ParamsError(f"{shown(name)[1:-1]} is given twice (again on line {line}): keep "
                          "one") from None  # fmt: skip
    except RecursionError:  # ruamel's composer recurses once per level
        raise ParamsError(_TOO_DEEP) from None
    try:
        _check_keys(data, ())
    except RecursionError:
        raise ParamsError(_TOO_DEEP) from None
    return data


_TOO_DEEP = ("mappings or lists nested too deep to read (params.yaml's sections are at most "
             "a few levels deep)")  # fmt: skip


def write_yaml(data: Any, stream) -> None:
    """``data`` as YAML that :func:`read_yaml` reads back equal (a string such as "1e3" or
    "off" quoted where YAML 1.2 would read it otherwise), keys in their order."""
    writer = YAML(typ="safe", pure=True)
    writer.default_flow_style = False
    writer.sort_base_mapping_type_on_output = False
    writer.dump(data, stream)


def _check_keys(node: Any, where: tuple) -> None:
    if isinstance(node, list):
        for item in node:
            _check_keys(item, where)
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if not isinstance(key, str):
            inside = f" (in {key_of(where)})" if where else ""
            raise ParamsError(f"{shown(key)}{inside} is not a valid key: keys are names")
        _check_keys(value, (*where, key))


def _yaml_fault(err: YAMLError) -> str:
    """ruamel's several-line message as its problem and line ("found character '\\t' that
    cannot start any token, line 3")."""
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    return f"{problem}, line {mark.line + 1}" if mark else problem


def load_params(path: str | Path = "params.yaml", scores=None) -> Params:
    """Read and validate params.yaml (see :func:`parse_params` for ``scores``)."""
    return parse_params(read_file(path), scores)


def parse_grids(raw: Any) -> dict[str, GridParams]:
    """Validate a grids mapping (grids.yaml as loaded) into its grids by name."""
    if not isinstance(raw, dict):
        raise ParamsError(f"grids file = {shown(raw)} is invalid: expected a mapping with "
                          "`grids:` at the top level")  # fmt: skip
    try:
        return GridsFile.model_validate(raw).grids
    except ValidationError as err:
        raise ParamsError(one_line(err, GridsFile)) from None


def load_grids(path: str | Path = "grids.yaml") -> dict[str, GridParams]:
    """Read and validate grids.yaml: the grids `make grid` runs, by name."""
    return parse_grids(read_file(path))


def read_file(path: str | Path) -> Any:
    """The YAML document at ``path`` as DVC reads params (:func:`read_yaml`); a file that
    cannot be read is a ParamsError naming it."""
    path = Path(path)
    try:
        raw = read_yaml(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ParamsError(f"{path}: cannot be read ({err.strerror})") from None
    except UnicodeDecodeError as err:
        raise ParamsError(
            f"{path}: is not UTF-8 text (byte {err.object[err.start]:#04x} at offset {err.start})"
        ) from None
    except YAMLError as err:
        raise ParamsError(f"{path}: is not valid YAML ({_yaml_fault(err)})") from None
    except ParamsError as err:
        raise ParamsError(f"{path}: {err}") from None
    except ValueError as err:  # Python refuses an integer of over 4,300 digits
        reason = " ".join(str(err).split())[:120]
        raise ParamsError(f"{path}: holds a value that cannot be read ({reason})") from None
    return raw
