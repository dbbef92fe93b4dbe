"""How digits go into a model, shared by data.py and the two pipelines (_tf_data.py,
_numpy_batches.py), which all import it; it imports nothing of the package, so that
dependencies flow one way.
"""
import math

import numpy as np


def model_input(images, labels, *, flat, one_hot):
    """uint8 images and labels (NumPy) -> float32 images in [0, 1], one-hot or int32 labels."""
    images = (images.astype(np.float32) / 255.0).reshape((-1, 784) if flat else (-1, 28, 28, 1))
    labels = labels.astype(np.int32)
    return images, (np.eye(10, dtype=np.float32)[labels] if one_hot else labels)


def batches_in(n, batch_size, full_only):
    """How many batches n digits make."""
    return n // batch_size if full_only else math.ceil(n / batch_size)
