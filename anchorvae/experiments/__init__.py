"""Questions as data: a grid of params.yaml becomes queued DVC experiments (grid.py,
queue.py), read back into one table (readback.py)."""
