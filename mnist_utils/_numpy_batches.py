"""The batches as a keras.utils.PyDataset of NumPy arrays: where TensorFlow is not installed.

What tf.data does in `_tf_data.py`, in NumPy: full training batches in a new order every epoch
(repeatable with a seed), validation batches in file order. In a cluster of JAX processes each
process returns its own part of every batch, as `keras.distribution` expects.
"""
import keras
import numpy as np

from mnist_utils._batching import batches_in, model_input


class MnistBatches(keras.utils.PyDataset):
    """Batches of (images, labels) for model.fit; `shuffle`: a new order every epoch."""

    def __init__(self, images, labels, batch_size, *, flat, one_hot, shuffle, seed=None):
        super().__init__()
        self.images, self.labels, self.batch_size = images, labels, batch_size
        self.flat, self.one_hot, self.shuffle = flat, one_hot, shuffle
        # Without a seed, a random one: every epoch still gets its own order.
        self.seed = np.random.SeedSequence().entropy if seed is None else seed
        self.epoch = 0
        self.order = self._order()

    def _order(self):
        if not self.shuffle:
            return np.arange(len(self.labels))
        return np.random.default_rng([self.seed, self.epoch]).permutation(len(self.labels))

    def __len__(self):
        return batches_in(len(self.labels), self.batch_size, full_only=self.shuffle)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} of {len(self)}")
        rows = _this_process_share(self.order[index * self.batch_size:
                                              (index + 1) * self.batch_size])
        return model_input(self.images[rows], self.labels[rows], flat=self.flat,
                           one_hot=self.one_hot)

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


def training(images, labels, batch_size, *, flat, one_hot, seed):
    return MnistBatches(images, labels, batch_size, flat=flat, one_hot=one_hot, shuffle=True,
                        seed=seed)


def validation(images, labels, batch_size, *, flat, one_hot):
    return MnistBatches(images, labels, batch_size, flat=flat, one_hot=one_hot, shuffle=False)
