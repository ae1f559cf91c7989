"""Reading params.yaml into the schema (params.py): a YAML loader that refuses what PyYAML
would let pass silently, and every validation error turned into one line naming the key,
the value and what is allowed."""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

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
        current = info.annotation
        if typing.get_origin(current) is dict:  # a named entry: skip its key
            value = typing.get_args(current)[1]
            if hasattr(value, "model_fields") and parts:
                parts.pop(0)
                current = value
    return info, current


SHOWN_CHARS = 60  # a value longer than this is cut in a message (a 400-digit number)
KEY_CHARS = 40  # and a key


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


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
        return f"{key} = {_shown(first['input'])} is invalid: expected {_kind_of(kind)}"
    named = ", ".join(scores) or "see anchorvae/method/scores"
    allowed = info.description.replace("{scores}", named)
    return f"{key} = {_shown(first['input'])} is invalid: expected {allowed}"


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


class ParamsLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key given twice in a mapping, or a key that is not
    a name, is an error (PyYAML would keep the last one silently), and that every float
    YAML 1.2 reads is a float: `dvc exp run -S train.lr=0.00005` writes ``5e-05``, which
    YAML 1.1 (PyYAML) would read as a string."""

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                raise ParamsError(
                    f"{_shown(key)} (line {line}) is not a valid key: keys are names"
                )
            if key in seen:
                raise ParamsError(f"{key} is given twice (lines {seen[key]} and {line}): keep one")
            seen[key] = line
        return super().construct_mapping(node, deep)


# YAML 1.2's floats without a dot (5e-05, 1E3) that YAML 1.1 leaves as strings.
ParamsLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def load_params(path: str | Path = "params.yaml", scores=None) -> Params:
    """Read and validate params.yaml (see :func:`parse_params` for ``scores``)."""
    path = Path(path)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=ParamsLoader)  # noqa: S506 (a safe loader)
    except OSError as err:
        raise ParamsError(f"{path}: cannot be read ({err.strerror})") from None
    except UnicodeDecodeError as err:
        raise ParamsError(
            f"{path}: is not UTF-8 text (byte {err.object[err.start]:#04x} at offset {err.start})"
        ) from None
    except yaml.YAMLError as err:
        raise ParamsError(f"{path}: is not valid YAML ({str(err).splitlines()[0]})") from None
    except ParamsError as err:
        raise ParamsError(f"{path}: {err}") from None
    except ValueError as err:  # Python refuses an integer of over 4,300 digits
        reason = " ".join(str(err).split())[:120]
        raise ParamsError(f"{path}: holds a value that cannot be read ({reason})") from None
    return parse_params(raw, scores)
