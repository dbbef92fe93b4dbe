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
import contextlib
from dataclasses import dataclass
from typing import Any

import keras

from mnist_utils import backends

__all__ = ["Accelerator", "find_accelerator"]

GPU_HINT = "on Colab: Runtime > Change runtime type > T4 GPU"


@dataclass(frozen=True)
class Accelerator:
    """What find_accelerator found: where Keras trains, and the scope to build the model in."""

    strategy: Any  # TensorFlow: the tf.distribute strategy; other backends: None
    kind: str  # "TPU", "GPU", "CPU" or "multi-worker"
    replicas: int  # model copies that each train on their part of every batch
    description: str  # the line find_accelerator prints
    distribution: Any = None  # JAX: the keras.distribution in force (None on one device)

    def scope(self):
        """Build (and compile) the model in this: the strategy's scope on TensorFlow, the
        distribution's on JAX, nothing special on one device of another backend."""
        if self.strategy is not None:
            return self.strategy.scope()
        if self.distribution is not None:
            return self.distribution.scope()
        return contextlib.nullcontext()

    def global_batch_size(self, per_replica: int) -> int:
        """The batch size to feed: each replica gets `per_replica` examples of every batch."""
        return per_replica * self.replicas


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
        found = Accelerator(None, "CPU", 1, describe("the device Keras picked", None, 1))
    if verbose:
        print(found.description)
    return found


def describe(what, name, replicas, note=None):
    """The one line, e.g. "Keras on JAX, running on 2 GPUs (Tesla T4) with DataParallel, 2
    replicas in sync." It names the backend, and says so where mnist_utils picked it."""
    line = f"Keras on {backends.backend_name()}"
    if backends.chosen_because:
        line += f" ({backends.chosen_because})"
    line += f", running on {what}"
    if name:
        line += f" with {name}"
    if replicas > 1:
        line += f", {replicas} replicas in sync"
    if note:
        line += f"; {note}" if replicas > 1 else f": {note}"
    return line + "."


def short_error(err):
    """The error in a few words, for the printed line."""
    text = (str(err).strip().splitlines() or [""])[0]
    return f"{type(err).__name__}: {text[:110]}" if text else type(err).__name__
