"""Judging trained models: where digits land (placement.py), every per-model number at
once over the stacked ensemble (evaluate.py), and their summaries across seeds by kind
(kinds.py, seed_stats.py, summary.py), all named in one registry (metrics.py)."""
