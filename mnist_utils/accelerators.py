"""The devices Keras trains on, found in one call that says what it found, on any backend.

`find_accelerator()` asks Keras which backend it runs on (`keras.backend.backend()`) and lets a
small backend-specific module pick how to use this machine:

- TensorFlow (`_tf_strategies.py`): a tf.distribute strategy: TPUStrategy, MirroredStrategy over
  several GPUs or logical CPU devices, the default strategy on one device, or
  MultiWorkerMirroredStrategy for a cluster described by TF_CONFIG.
- JAX (`_jax_distribution.py`): `keras.distribution.DataParallel` over a TPU's cores, several
  GPUs or several local devices; nothing on one device; and over all processes' devices for a
  cluster started with `keras.distribution.initialize` (the KERAS_DISTRIBUTION_* variables).

Either way the notebooks build their model in `with accelerator.scope():` and train it with
plain `model.fit`. Where an accelerator is missing or fails to start, the next one is used and
the printed line says why. A cluster that is described (TF_CONFIG, KERAS_DISTRIBUTION_*) but
cannot be joined raises ValueError: training alone would leave the others waiting forever.
"""
import keras

from mnist_utils import backends
from mnist_utils._accelerator import GPU_HINT, Accelerator, describe

__all__ = ["GPU_HINT", "Accelerator", "describe", "find_accelerator"]


def find_accelerator(*, verbose: bool = True) -> Accelerator:
    """Finds where Keras will train and prints (if verbose) one line about it.

    Raises ValueError only where a cluster is described but unusable (see the module's top).
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        from mnist_utils import _tf_strategies

        found = _tf_strategies.find(backends.tpu_hint())
    elif backend == "jax":
        from mnist_utils import _jax_distribution

        found = _jax_distribution.find(backends.tpu_hint())
    else:  # Keras' torch and numpy backends: no device selection here, Keras picks one itself
        found = Accelerator(None, "CPU", 1, describe("the device Keras picked", None, 1),
                            backend=backend)
    if verbose:
        print(found.description)
    return found
