"""The method this project studies, and nothing else: the VAE loss and its anchoring
(loss.py, anchors.py), the anchoring scores beside their maps (scores/), the VAEs
(model.py) and the digit classifier that reads what they decode (classifier.py).

Tensors in, tensors out: no files, no params.yaml, no process set-up. A variant reaches
this package as the few fields it reads (anchors.Anchoring), never as the params schema.
"""
