"""What an accelerator is, and the line that describes it: shared by accelerators.py and the
backend modules (_tf_strategies.py, _jax_distribution.py), which all import it. It imports
nothing of the package but `backends`, so that dependencies flow one way.
"""
import contextlib
from dataclasses import dataclass
from typing import Any

from mnist_utils import backends

GPU_HINT = "on Colab: Runtime > Change runtime type > T4 GPU"


@dataclass(frozen=True)
class Accelerator:
    """What find_accelerator found: where Keras trains, and the scope to build the model in."""

    strategy: Any  # TensorFlow: the tf.distribute strategy; other backends: None
    kind: str  # "TPU", "GPU", "CPU" or "multi-worker"
    replicas: int  # model copies that each train on their part of every batch
    description: str  # the line find_accelerator prints
    backend: str = "tensorflow"  # keras.backend.backend()
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
