"""What every stage script shares: argument parsing, params loading, error handling.

A stage's ``main`` raises; :func:`run_stage` turns the known failures into one line on
stderr and an exit code (2 for bad input, 1 for a failed run), never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Callable

from anchorvae.errors import StageFailure, UsageError
from anchorvae.pipeline.params import Params, ParamsError
from anchorvae.pipeline.params_file import load_params

log = logging.getLogger("anchorvae")

BAD_INPUT_EXIT = 2
FAILED_EXIT = 1
INTERRUPTED_EXIT = 130  # 128 + SIGINT, as a shell reports it


class Terminated(BaseException):
    """SIGTERM (from `timeout`, a CI runner, or `kill`) or SIGHUP (a closed terminal),
    unwound like Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
        self.how = "hung up" if signum == signal.SIGHUP else "terminated"


def _terminate(signum, frame) -> None:
    raise Terminated(signum)


def unwind_on_signals() -> None:
    """SIGTERM and SIGHUP raise :class:`Terminated` in the main thread from now on."""
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _terminate)


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own exit code is 2 as well
        raise UsageError(message)


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with ``--params`` already added."""
    p = _OneLineParser(description=description)
    p.add_argument("--params", default="params.yaml", help="params file (default: %(default)s)")
    return p


def parse(
    p: argparse.ArgumentParser, argv: list[str] | None, scores=None
) -> tuple[argparse.Namespace, Params]:
    """A stage's arguments and its validated ``--params`` file (with ``scores``, names or
    name -> scales, every anchor must name one and take its scale): what every stage
    starts with."""
    args = p.parse_args(argv)
    return args, load_params(args.params, scores)


def run_stage(main: Callable[[list[str] | None], None], argv: list[str] | None = None) -> None:
    """Run a stage's ``main`` and exit with a code that says how it ended."""
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stderr)
    unwind_on_signals()  # so that atomic outputs clean up
    try:
        main(argv)
    except (ParamsError, UsageError) as err:
        log.error("error: %s", _flat(err))
        sys.exit(BAD_INPUT_EXIT)
    except StageFailure as err:
        log.error("failed: %s", _flat(err))
        sys.exit(FAILED_EXIT)
    except OSError as err:  # a full disk, a permission refused: name the path
        where = f": {err.filename}" if err.filename else ""
        log.error("failed: %s%s", err.strerror or err, where)
        sys.exit(FAILED_EXIT)
    except (MemoryError, RuntimeError) as err:
        if not _out_of_memory(err):
            raise
        log.error("failed: out of memory (%s): use fewer seeds or a smaller batch, or a "
                  "device with more memory", _first_line(err))  # fmt: skip
        sys.exit(FAILED_EXIT)
    except KeyboardInterrupt:
        log.error("interrupted: no output was written")
        sys.exit(INTERRUPTED_EXIT)
    except Terminated as ended:
        log.error("%s: no output was written", ended.how)
        sys.exit(128 + ended.signum)


# How torch says it ran out: CPU ("DefaultCPUAllocator: can't allocate memory"), CUDA
# (torch.OutOfMemoryError, "CUDA out of memory"), or a size too large to compute.
OUT_OF_MEMORY = ("can't allocate memory", "out of memory", "size calculation overflowed")


def _out_of_memory(err: BaseException) -> bool:
    return isinstance(err, MemoryError) or any(s in str(err) for s in OUT_OF_MEMORY)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text[:160]


def _flat(err: BaseException) -> str:
    """The message on one line, even when it quotes a value with a line break in it."""
    return " ".join(str(err).splitlines())
