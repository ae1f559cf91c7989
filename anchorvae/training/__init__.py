"""Training: every seed of a variant as one stacked ensemble (ensemble.py) stepping the one
loss of anchorvae/method/loss.py through autograd (step.py, train.py), seeded per member
(seeds.py); and the digit classifier's training (classifier.py). Takes tensors and plain
settings, not the params schema."""
