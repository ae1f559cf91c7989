"""The building blocks of params.yaml's schema: the error, strict sections and bounded
numbers whose ``description`` is the "what is allowed" of every one-line refusal."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field


class ParamsError(ValueError):
    """A value in params.yaml is missing, of the wrong type or out of range."""


INT32_MAX = 2**31 - 1  # torch.set_num_threads and tensor sizes take C ints
SEED_MAX = 2**32 - 1  # NumPy seeds are unsigned 32-bit
RATE_MAX = 1000.0  # anchor rates beyond this only saturate the KL
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]*")  # matched in full: `$` passes "x\n"


SHOWN_CHARS = 60  # a value longer than this is cut in a message (a 400-digit number)


def shown(value: Any) -> str:
    """``repr(value)``, cut to :data:`SHOWN_CHARS` for a one-line message."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def int_in(lo: int, hi: int, why: str = "") -> Any:
    """An integer in [lo, hi]; ``why`` says in a refusal why the bound is where it is."""
    allowed = f"an integer >= {lo} and <= {hi}" + (f" ({why})" if why else "")
    return Annotated[int, Field(ge=lo, le=hi, description=allowed)]


def number_in(lo: float, hi: float, open_low: bool = False) -> Any:
    low = Field(gt=lo) if open_low else Field(ge=lo)
    allowed = f"a number {'>' if open_low else '>='} {lo:g} and <= {hi:g}"
    return Annotated[float, low, Field(le=hi, description=allowed)]


class Section(BaseModel):
    """Strict types (no "3" for 3, no true for 1), finite numbers, no unknown keys."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


def is_number(value: Any) -> bool:
    """A finite int or float, as the strict schema takes them (not a bool, not "1")."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))
