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


# The slow tier, in one table: other environments, a browser, the site build, whole notebooks
# in Jupyter kernels, and processes that train together. `python -m pytest -m "not slow"` (the
# quick tier, README) leaves these out; `python -m pytest` (and CI's .ci/run) runs everything.
SLOW = {
    "notebooks/": "each notebook top to bottom under nbval",
    "tests/test_environments.py": "the notebooks in the environments of .ci/stacks.toml",
    "tests/test_other_backends.py": "the notebooks on JAX, and without TensorFlow",
    "tests/test_jax_distribution.py": "JAX processes that train together",
    "tests/test_browser.py": "JupyterLab in Chromium",
    "tests/test_site.py": "the site built and browsed",
    "tests/test_pinned_install.py::test_the_release_installs_from_a_plain_clone_of_main":
        "a fresh environment installing the release",
    "tests/test_pinned_install.py::test_a_failed_install_stops_with_one_line":
        "the setup cell in a kernel, pip failing",
    "tests/test_run_all.py::test_a_report_of_executed_notebooks": "notebooks in Jupyter kernels",
    "tests/test_notebook_images.py::test_the_pictures_are_the_cells_images": "notebook 01 run",
    "tests/test_notebook_images.py::test_a_short_run_is_refused": "notebook 01 run",
    "tests/test_accelerators.py::test_two_local_workers": "two TensorFlow workers",
}


def is_slow(nodeid):
    return any(nodeid.startswith(prefix) for prefix in SLOW)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if is_slow(item.nodeid):
            item.add_marker("slow")
