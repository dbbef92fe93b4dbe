"""Keeps the notebook run short under pytest/nbval.

Keras (3.10+) caps every `fit` with these two variables, and the notebook kernels that nbval
starts inherit them, so the notebooks run unchanged but train on a few batches only. Set them
yourself to override, e.g. `KERAS_MAX_EPOCHS=10 python -m pytest notebooks/`. The tests in
tests/ lift the caps again (see tests/conftest.py).
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
    f"error:::mnist_utils.{module}" for module in ("data", "accelerators", "plots", "fonts")))
