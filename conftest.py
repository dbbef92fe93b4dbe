"""The environment of the test run, set before any notebook kernel starts (kernels inherit it).

Keras (3.10+) caps every `fit` with KERAS_MAX_EPOCHS and KERAS_MAX_STEPS_PER_EPOCH, so the
notebooks run unchanged but train on a few batches only. Set them yourself to override, e.g.
`KERAS_MAX_EPOCHS=10 python -m pytest notebooks/`. The tests in tests/ lift the caps again
(see tests/conftest.py). The other variables quieten TensorFlow, make the live plot draw once,
and turn warnings raised by mnist_utils into errors.
"""
import os
import re
from pathlib import Path

os.environ.setdefault("KERAS_MAX_EPOCHS", "2")
os.environ.setdefault("KERAS_MAX_STEPS_PER_EPOCH", "30")
# A quiet TensorFlow in the kernels: no C++ info lines about CPU instructions or CUDA stubs.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The live training plot draws once at the end instead of updating while fit runs.
os.environ.setdefault("MNIST_LIVE_PLOT", "0")
# Any warning raised from our own package is an error, in the tests and in the notebook kernels:
# every module in mnist_utils/, read from the folder (importing the package would start Keras).
PACKAGE_MODULES = sorted("mnist_utils" if path.stem == "__init__" else f"mnist_utils.{path.stem}"
                         for path in (Path(__file__).parent / "mnist_utils").glob("*.py"))
os.environ.setdefault("PYTHONWARNINGS", ",".join(f"error:::{name}" for name in PACKAGE_MODULES))


def pytest_configure(config):
    """The same in this process, which read PYTHONWARNINGS before this file set it."""
    for name in PACKAGE_MODULES:
        config.addinivalue_line("filterwarnings", f"error:::{re.escape(name)}$")
