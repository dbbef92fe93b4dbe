"""Which Keras backend runs the series, chosen before Keras starts; and the versions really used.

Keras reads KERAS_BACKEND once, when it is first imported. `import mnist_utils` calls
`choose_backend()` before anything imports Keras: where the learner set no KERAS_BACKEND, it
picks JAX on a machine with a TPU (Colab's TPU runtimes ship JAX and no TensorFlow, and
TensorFlow's TPU build no longer starts there) and on one without TensorFlow (Keras' default
backend would fail to start). A KERAS_BACKEND set by the learner always wins. This module
imports neither Keras nor TensorFlow, so it works on machines without TensorFlow.
"""
import glob
import importlib.util
import os
import re
import sys
from pathlib import Path

# PCI device ids of TPU chips (v2/v3, v4, v5p, v5e, v6e, TPU7x) under Google's vendor id 0x1ae0.
TPU_PCI_IDS = {"0x0027", "0x0056", "0x005e", "0x0062", "0x0063", "0x006f", "0x0076"}
MINIMUM_KERAS = (3, 10)  # the first Keras that honours KERAS_MAX_EPOCHS / _STEPS_PER_EPOCH
MINIMUM_TENSORFLOW = (2, 16)  # the first TensorFlow whose tf.keras is Keras 3
NAMES = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch", "numpy": "NumPy"}

# Why this package set KERAS_BACKEND (None: it did not); find_accelerator's line repeats it.
chosen_because = None


def _read(path):
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def tpu_hint():
    """Why a TPU seems attached, or None: only then is one tried, so other machines skip it."""
    for name in ("TPU_ACCELERATOR_TYPE", "COLAB_TPU_1VM", "TPU_NAME"):
        if os.environ.get(name):  # Colab's CPU and GPU runtimes set COLAB_TPU_1VM to ""
            return f"{name}={os.environ[name]}"
    if glob.glob("/dev/accel[0-9]*"):
        return "/dev/accel devices"
    for vendor in glob.glob("/sys/bus/pci/devices/*/vendor"):
        if _read(vendor) == "0x1ae0" and _read(Path(vendor).with_name("device")) in TPU_PCI_IDS:
            return "a TPU chip on the PCI bus"
    return None


def choose_backend():
    """Sets KERAS_BACKEND=jax where nobody chose a backend, JAX is installed, and either a TPU
    is attached or TensorFlow (Keras' default) is not installed.

    Does nothing once Keras is imported (it has read its backend then) or where KERAS_BACKEND
    is set. Returns the reason it chose JAX, or None.
    """
    global chosen_because
    if os.environ.get("KERAS_BACKEND") or "keras" in sys.modules:
        return None
    if importlib.util.find_spec("jax") is None:
        return None
    hint = tpu_hint()
    if hint:
        chosen_because = f"picked for the TPU ({hint})"
    elif importlib.util.find_spec("tensorflow") is None:
        chosen_because = "picked because TensorFlow is not installed"
    else:
        return None
    os.environ["KERAS_BACKEND"] = "jax"
    chosen_because += "; set KERAS_BACKEND before importing mnist_utils to choose another"
    return chosen_because


def backend_name():
    """The backend Keras trains with, as people write it: "TensorFlow", "JAX", ..."""
    import keras

    return NAMES.get(keras.backend.backend(), keras.backend.backend())


def _version_tuple(version):
    """'3.15.1' -> (3, 15); '2.21.0rc1' -> (2, 21): enough to compare with a minimum."""
    return tuple(int(part) for part in re.findall(r"\d+", version)[:2])


def _backend_module():
    import keras

    return {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch",
            "numpy": "numpy"}[keras.backend.backend()]


def versions():
    """One line naming what really runs, e.g. "Keras 3.15.1 on JAX 0.10.2".

    Raises RuntimeError, saying what to install, where Keras (or, as backend, TensorFlow) is
    older than this series needs.
    """
    import keras

    backend = importlib.import_module(_backend_module())
    if _version_tuple(keras.__version__) < MINIMUM_KERAS:
        raise RuntimeError(f"This series needs Keras 3.10 or newer, found {keras.__version__}: "
                           "pip install -U keras, then restart the kernel.")
    if backend.__name__ == "tensorflow" and _version_tuple(backend.__version__) < MINIMUM_TENSORFLOW:
        raise RuntimeError(f"This series needs TensorFlow 2.16 or newer, found "
                           f"{backend.__version__}: pip install -U tensorflow, then restart "
                           "the kernel.")
    return f"Keras {keras.__version__} on {backend_name()} {backend.__version__}"
