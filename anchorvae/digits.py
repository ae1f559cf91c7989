"""The digits this project names and the images they come in: the ten classes, the two the
seed post anchors, and MNIST's 28x28 pixels (what the data, the scores and the models share)."""

N_DIGITS = 10
ZERO, ONE = 0, 1  # round digits are pulled to (-, ..., -), sticks to (+, ..., +)
ANCHORED_DIGITS = (ZERO, ONE)  # the digits whose anchor points are decoded and read
SIDE = 28  # images are SIDE x SIDE
PIXELS = SIDE * SIDE  # an image flattened: the models' input and output size
TRAIN_IMAGES = 60_000  # MNIST's training set: the most train.limit can keep
