"""Every file a stage writes, and the one checked reader of each: a file that is missing
is one line naming it and the stage that writes it, one that is damaged one line saying
what is wrong, never a traceback or a wrong number.

atomic.py          writes: every output under a temporary name, renamed into place
tables.py          the checked CSV and JSON readers the others go through
checkpoints.py     checkpoint files, rebuilt into a VAE or the classifier
models.py          a variant's trained folder: checkpoints, history.csv
anchor_points.py   anchors.json, the points a variant's evaluation decodes
arrays.py          .npy: anchor maps and training-image scores
evaluations.py     one model's evaluation files
summaries.py       the summarize stage's per-model tables
"""
