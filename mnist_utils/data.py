"""MNIST for `model.fit`: batches to train and validate on, and digits to look at.

Two pipelines, side by side below, with the same files and checks (`files.py`), the same seeds,
a new order every epoch, and the arrays kept in the computer's memory, not on the GPU:

- where TensorFlow is installed, tf.data datasets, the input pipeline the lessons teach,
  whatever Keras' backend;
- without TensorFlow (Colab's TPU runtimes, GPU machines with JAX only), `MnistBatches`, a
  `keras.utils.PyDataset` of NumPy batches, which `model.fit` takes on any backend.

Also here: how digits become model input (`model_input`), and the two helpers every picture
uses to read what a learner passes in (`as_images`, `as_classes`).
"""
import json
import math
import os

import keras
import numpy as np

from mnist_utils.files import MNIST_FILES, MnistDataError, MnistFile, mnist_files, read_items

__all__ = ["MNIST_FILES", "MnistBatches", "MnistDataError", "MnistFile", "as_classes",
           "as_images", "load_digits", "mnist_files", "model_input", "training_dataset",
           "validation_dataset"]

# 10,000 / 1,000: every validation batch full (static shapes, as TPUs need), and small enough
# for notebook 05 on a 4 GB GPU (its first layer's output is 75 MB for 1,000 digits).
VALIDATION_BATCH_SIZE = 1_000


def training_dataset(batch_size=128, *, one_hot=True, data_dir=None, seed=None, files=None):
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
    if _pipeline() == "tf.data":
        return _tf_training(images, labels, batch_size, one_hot=one_hot, seed=seed)
    return MnistBatches(images, labels, batch_size, one_hot=one_hot, shuffle=True, seed=seed)


def validation_dataset(batch_size=VALIDATION_BATCH_SIZE, *, one_hot=True, data_dir=None,
                       files=None):
    """The 10,000 test digits in file order, in batches of `batch_size` (the last one smaller
    where it does not divide 10,000)."""
    _check_batch_size(batch_size)
    images, labels = _arrays(files or mnist_files(data_dir), "test")
    if _pipeline() == "tf.data":
        return _tf_validation(images, labels, batch_size, one_hot=one_hot)
    return MnistBatches(images, labels, batch_size, one_hot=one_hot, shuffle=False)


def load_digits(n=None, *, split="validation", one_hot=False, data_dir=None, files=None):
    """The first n digits (default: all) of "train" or "validation" as NumPy (images, labels)."""
    if split not in ("train", "validation"):
        raise ValueError(f'split must be "train" or "validation", not {split!r}')
    if n is not None and (int(n) != n or n < 0):
        raise ValueError(f"n must be a whole number of digits, 0 or more (or None: all), not {n!r}")
    images, labels = _arrays(files or mnist_files(data_dir), "train" if split == "train" else "test")
    n = len(labels) if n is None else min(int(n), len(labels))
    return model_input(images[:n], labels[:n], one_hot=one_hot)


def _pipeline():
    """"tf.data" where TensorFlow is installed, "PyDataset" (NumPy batches) elsewhere."""
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        return "PyDataset"
    return "tf.data"


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


def _batches_in(n, batch_size, full_only):
    """How many batches n digits make."""
    return n // batch_size if full_only else math.ceil(n / batch_size)


# --- Digits as a model reads them, and as the pictures read them -------------------------------

def model_input(images, labels, *, one_hot):
    """uint8 images and labels (NumPy) -> float32 images (n, 28, 28, 1) in [0, 1], one-hot or
    int32 labels."""
    images = (images.astype(np.float32) / 255.0).reshape(-1, 28, 28, 1)
    labels = labels.astype(np.int32)
    return images, (np.eye(10, dtype=np.float32)[labels] if one_hot else labels)


def as_images(images, shape=(-1, 28, 28)):
    """Digits as a learner may pass them ((n, 784), (n, 28, 28), (n, 28, 28, 1) or one digit;
    in [0, 1] or [0, 255]) -> float32 in [0, 1], reshaped to `shape` (None: kept as given)."""
    images = np.asarray(images, dtype=np.float32)
    if shape is not None:
        if images.size % 784:
            raise ValueError(f"expected 28x28 digits, got an array of shape {images.shape}")
        images = images.reshape(shape)
    return images / 255.0 if images.max(initial=0) > 1 else images


def as_classes(values):
    """Integer labels or predictions (n,), or one-hot vectors or probabilities (n, 10) -> ints
    (n,)."""
    values = np.asarray(values)
    return values.argmax(axis=-1) if values.ndim == 2 else values.astype(int)


# --- tf.data, where TensorFlow is installed -----------------------------------------------------
#
# The digits are kept in the computer's memory as the files have them, one byte a pixel (placed
# on the CPU explicitly, so that on a GPU runtime they are not copied into GPU memory and back
# for every batch). Each epoch shuffles the list of their indices (one vectorised op), gathers
# whole batches and makes each one model input as it goes.

def _host(array):
    """A tensor in the computer's memory (CPU), whatever device is the default."""
    import tensorflow as tf

    with tf.device("/CPU:0"):
        return tf.constant(array)


def _tf_model_input(images, labels, one_hot):
    import tensorflow as tf

    images = tf.reshape(tf.cast(images, tf.float32) / 255.0, [-1, 28, 28, 1])
    labels = tf.cast(labels, tf.int32)
    return images, (tf.one_hot(labels, 10) if one_hot else labels)


def _for_fit(batches, count):
    """Says how many batches there are (Keras shows it in its progress bar), and that several
    machines share the data batch by batch, each taking its part of every batch."""
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return (batches.apply(tf.data.experimental.assert_cardinality(count)).with_options(options)
            .prefetch(tf.data.AUTOTUNE))


def _tf_training(images, labels, batch_size, *, one_hot, seed):
    import tensorflow as tf

    # Bytes (47 MB), made model input a batch at a time: converting all 60,000 digits to floats
    # first (188 MB) kept a learner waiting a second or more before training, for nothing.
    images, labels = _host(images), _host(labels)
    n = int(labels.shape[0])

    def batches_of_one_epoch(epoch_seed):
        order = tf.random.experimental.stateless_shuffle(tf.range(n), seed=[epoch_seed, 0])
        full_batches = order[: n // batch_size * batch_size]
        return tf.data.Dataset.from_tensor_slices(tf.reshape(full_batches, [-1, batch_size]))

    def gather(indices):
        return _tf_model_input(tf.gather(images, indices), tf.gather(labels, indices), one_hot)

    # One new seed per pass through the dataset: a new order every epoch, repeatable with seed.
    epoch_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
    return _for_fit(epoch_seeds.flat_map(batches_of_one_epoch).map(gather),
                    _batches_in(n, batch_size, full_only=True))


def _tf_validation(images, labels, batch_size, *, one_hot):
    import tensorflow as tf

    n = len(labels)
    full_only = n % batch_size == 0  # then every batch has the same, static, shape
    batches = (tf.data.Dataset.from_tensor_slices((_host(images), _host(labels)))
               .batch(batch_size, drop_remainder=full_only)
               .map(lambda x, y: _tf_model_input(x, y, one_hot)).cache())
    return _for_fit(batches, _batches_in(n, batch_size, full_only))


# --- NumPy batches, where TensorFlow is not installed ------------------------------------------
#
# What tf.data does above, in NumPy: full training batches in a new order every epoch
# (repeatable with a seed), validation batches in file order. In a cluster of JAX processes each
# process returns its own part of every batch, as `keras.distribution` expects.

class MnistBatches(keras.utils.PyDataset):
    """Batches of (images, labels) for model.fit; `shuffle`: a new order every epoch."""

    def __init__(self, images, labels, batch_size, *, one_hot, shuffle, seed=None):
        super().__init__()
        self.images, self.labels, self.batch_size = images, labels, batch_size
        self.one_hot, self.shuffle = one_hot, shuffle
        # Without a seed, a random one: every epoch still gets its own order.
        self.seed = np.random.SeedSequence().entropy if seed is None else seed
        self.epoch = 0
        self.order = self._order()

    def _order(self):
        if not self.shuffle:
            return np.arange(len(self.labels))
        return np.random.default_rng([self.seed, self.epoch]).permutation(len(self.labels))

    def __len__(self):
        return _batches_in(len(self.labels), self.batch_size, full_only=self.shuffle)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} of {len(self)}")
        rows = _this_process_share(self.order[index * self.batch_size:
                                              (index + 1) * self.batch_size])
        return model_input(self.images[rows], self.labels[rows], one_hot=self.one_hot)

    def on_epoch_end(self):
        self.epoch += 1
        self.order = self._order()


def _this_process_share(rows):
    """In a cluster of JAX processes under a keras.distribution, this process's part of a batch."""
    if keras.backend.backend() != "jax" or keras.distribution.distribution() is None:
        return rows
    import jax

    count, index = jax.process_count(), jax.process_index()
    share = len(rows) // count
    return rows[index * share:(index + 1) * share]
