"""The failures a stage reports in one line instead of a traceback."""


class UsageError(ValueError):
    """Bad input outside params.yaml: a command-line value, a missing input file."""


class StageFailure(RuntimeError):
    """The stage ran but could not finish (no data source worked, training diverged)."""


class BadInputFile(StageFailure):
    """An input file exists but cannot be used: corrupt, truncated or of the wrong kind."""
