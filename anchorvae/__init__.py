"""anchorvae: anchored latent spaces, a VAE loss that puts chosen digits in chosen corners.

The packages, lowest first; a module imports only from its own layer and those below it
(tests/test_layers.py holds every import to this order):

    errors, digits  what everything shares: the one-line failures, the digits and pixels
    method/         the science: the loss, the anchor maths, the scores, the models
    artifacts/      every file a stage writes, and the one checked reader of each
    data/           MNIST: its IDX files, and fetching them verified
    training/       the stacked seed ensemble, its step and the trainers
    evaluation/     placement, statistics across seeds, the metric registry
    pipeline/       how a stage runs: the params schema, settings, the stage runner
    reports/        figures, markdown tables and the documents' generated blocks
    experiments/    grids as queued DVC experiments, and reading them back
"""
