"""The environment of the test run, set before any notebook kernel starts (kernels inherit it).

Keras (3.10+) caps every `fit` with KERAS_MAX_EPOCHS and KERAS_MAX_STEPS_PER_EPOCH, so the
notebooks run unchanged but train on a few batches only. Set them yourself to override, e.g.
`KERAS_MAX_EPOCHS=10 python -m pytest notebooks/`. The tests in tests/ lift the caps again
(see tests/conftest.py). The other variables quieten TensorFlow, make the live plot draw once,
and turn warnings raised by mnist_utils into errors.
"""
import os

os.environ.setdefault("KERAS_MAX_EPOCHS", "2")
os.environ.setdefault("KERAS_MAX_STEPS_PER_EPOCH", "30")
# A quiet TensorFlow in the kernels: no C++ info lines about CPU instructions or CUDA stubs.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The live training plot draws once at the end instead of updating while fit runs.
os.environ.setdefault("MNIST_LIVE_PLOT", "0")
# Any warning raised from our own package is an error, in the tests and in the notebook kernels.
os.environ.setdefault("PYTHONWARNINGS", ",".join(
    f"error:::mnist_utils.{module}" for module in (
        "data", "accelerators", "plots", "_figures", "fonts", "draw", "backends",
        "_tf_strategies", "_jax_distribution", "insides", "_insides_common", "_insides_softmax",
        "_insides_activations", "_insides_shifts", "_insides_convolutions",
        "_insides_batch_norm")))
