"""The digits this project names: the ten classes, and the two the seed post anchors."""

N_DIGITS = 10
ZERO, ONE = 0, 1  # round digits are pulled to (-, ..., -), sticks to (+, ..., +)
ANCHORED_DIGITS = (ZERO, ONE)  # the digits whose anchor points are decoded and read
