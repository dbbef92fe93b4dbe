"""The batches as tf.data datasets: where TensorFlow is installed (see data.py).

The digits are kept in the computer's memory as the files have them, one byte a pixel (placed
on the CPU explicitly, so that on a GPU runtime they are not copied into GPU memory and back for
every batch). Each epoch shuffles the list of their indices (one vectorised op), gathers whole
batches and makes each one model input as it goes.
"""
import tensorflow as tf

from mnist_utils._batching import batches_in


def _host(array):
    """A tensor in the computer's memory (CPU), whatever device is the default."""
    with tf.device("/CPU:0"):
        return tf.constant(array)


def _model_input(images, labels, flat, one_hot):
    images = tf.cast(images, tf.float32) / 255.0
    images = tf.reshape(images, [-1, 784] if flat else [-1, 28, 28, 1])
    labels = tf.cast(labels, tf.int32)
    return images, (tf.one_hot(labels, 10) if one_hot else labels)


def _for_fit(batches, count):
    """Says how many batches there are (Keras shows it in its progress bar), and that several
    machines share the data batch by batch, each taking its part of every batch."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return (batches.apply(tf.data.experimental.assert_cardinality(count)).with_options(options)
            .prefetch(tf.data.AUTOTUNE))


def training(images, labels, batch_size, *, flat, one_hot, seed):
    # Bytes (47 MB), made model input a batch at a time: converting all 60,000 digits to floats
    # first (188 MB) kept a learner waiting a second or more before training, for nothing.
    images, labels = _host(images), _host(labels)
    n = int(labels.shape[0])

    def batches_of_one_epoch(epoch_seed):
        order = tf.random.experimental.stateless_shuffle(tf.range(n), seed=[epoch_seed, 0])
        full_batches = order[: n // batch_size * batch_size]
        return tf.data.Dataset.from_tensor_slices(tf.reshape(full_batches, [-1, batch_size]))

    def gather(indices):
        return _model_input(tf.gather(images, indices), tf.gather(labels, indices), flat, one_hot)

    # One new seed per pass through the dataset: a new order every epoch, repeatable with seed.
    epoch_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
    return _for_fit(epoch_seeds.flat_map(batches_of_one_epoch).map(gather),
                    batches_in(n, batch_size, full_only=True))


def validation(images, labels, batch_size, *, flat, one_hot):
    n = len(labels)
    full_only = n % batch_size == 0  # then every batch has the same, static, shape
    batches = (tf.data.Dataset.from_tensor_slices((_host(images), _host(labels)))
               .batch(batch_size, drop_remainder=full_only)
               .map(lambda x, y: _model_input(x, y, flat, one_hot)).cache())
    return _for_fit(batches, batches_in(n, batch_size, full_only))
