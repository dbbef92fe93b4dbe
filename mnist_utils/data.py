"""MNIST for `model.fit`: batches to train and validate on, and digits to look at.

Where TensorFlow is installed, the batches are tf.data datasets (`_tf_data.py`), the input
pipeline the lessons teach, whatever Keras' backend. Without TensorFlow (Colab's TPU runtimes,
GPU machines with JAX only) they are a `keras.utils.PyDataset` of NumPy batches
(`_numpy_batches.py`), which `model.fit` takes on any backend. Either way: the same files and
checks (`files.py`), the same seeds, a new order every epoch, and the arrays kept in the
computer's memory, not on the GPU.
"""
import json
import os

from mnist_utils._batching import model_input
from mnist_utils.files import MNIST_FILES, MnistDataError, MnistFile, mnist_files, read_items

__all__ = ["MNIST_FILES", "MnistDataError", "MnistFile", "load_digits", "mnist_files",
           "training_dataset", "validation_dataset"]

# 10,000 / 1,000: every validation batch full (static shapes, as TPUs need), and small enough
# for notebook 05 on a 4 GB GPU (its first layer's output is 75 MB for 1,000 digits).
VALIDATION_BATCH_SIZE = 1_000


def _pipeline():
    """tf.data where TensorFlow is installed, NumPy batches (keras.utils.PyDataset) elsewhere."""
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        from mnist_utils import _numpy_batches
        return _numpy_batches
    from mnist_utils import _tf_data
    return _tf_data


def training_dataset(batch_size=128, *, flat=False, one_hot=True, data_dir=None, seed=None,
                     files=None):
    """The 60,000 training digits in batches, in a new random order each epoch.

    Full batches only (static shapes, as TPUs need), not repeated: Keras goes through it once
    per epoch. `seed` makes the order of every epoch repeatable; on several machines it is
    required, so that all of them share out the same order. `files`: a dict from
    `mnist_files()` to read instead of looking for the files again.
    """
    _check_batch_size(batch_size)
    processes = _processes()
    if seed is None and processes > 1:
        raise ValueError(
            f"training_dataset() needs a seed when {processes} processes train together: "
            "each must shuffle the digits the same way, or some digits would be used twice "
            "in an epoch and others never. Pass the same seed everywhere, e.g. "
            "training_dataset(BATCH_SIZE, seed=SEED).")
    images, labels = _arrays(files or mnist_files(data_dir), "train")
    return _pipeline().training(images, labels, batch_size, flat=flat, one_hot=one_hot,
                                seed=seed)


def validation_dataset(batch_size=VALIDATION_BATCH_SIZE, *, flat=False, one_hot=True,
                       data_dir=None, files=None):
    """The 10,000 test digits in file order, in batches of `batch_size` (the last one smaller
    where it does not divide 10,000)."""
    _check_batch_size(batch_size)
    images, labels = _arrays(files or mnist_files(data_dir), "test")
    return _pipeline().validation(images, labels, batch_size, flat=flat, one_hot=one_hot)


def load_digits(n=None, *, split="validation", flat=False, one_hot=False, data_dir=None,
                files=None):
    """The first n digits (default: all) of "train" or "validation" as NumPy (images, labels)."""
    if split not in ("train", "validation"):
        raise ValueError(f'split must be "train" or "validation", not {split!r}')
    if n is not None and (int(n) != n or n < 0):
        raise ValueError(f"n must be a whole number of digits, 0 or more (or None: all), not {n!r}")
    images, labels = _arrays(files or mnist_files(data_dir), "train" if split == "train" else "test")
    n = len(labels) if n is None else min(int(n), len(labels))
    return model_input(images[:n], labels[:n], flat=flat, one_hot=one_hot)


def _arrays(files, prefix):
    return read_items(files[prefix + "_images"], prefix + "_images"), \
        read_items(files[prefix + "_labels"], prefix + "_labels")


def _check_batch_size(batch_size):
    if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number, 1 or more, not {batch_size!r}")


def _processes():
    """How many processes train together, from the variables that describe a cluster:
    KERAS_DISTRIBUTION_NUM_PROCESSES (Keras on JAX) or TF_CONFIG (TensorFlow)."""
    try:
        count = int(os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES") or 1)
    except ValueError:
        count = 1  # find_accelerator() says what is wrong with it
    try:
        cluster = json.loads(os.environ.get("TF_CONFIG") or "{}").get("cluster", {})
        count = max(count, len(cluster.get("chief", [])) + len(cluster.get("worker", [])))
    except (ValueError, AttributeError, TypeError):
        pass  # find_accelerator() says what is wrong with it
    return count
