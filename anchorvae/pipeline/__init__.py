"""How a stage runs: the params.yaml schema and its reading (params.py, params_file.py),
`-S` overrides as DVC applies them (overrides.py), environment settings (settings.py),
the process set-up (runtime.py) and the stage runner's one-line errors (cli.py)."""
