"""Which Keras backend runs the series (mnist_utils.backends), each case in a fresh process,
since Keras reads KERAS_BACKEND once, when it starts."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOT_INHERITED = ("KERAS_BACKEND", "TPU_ACCELERATOR_TYPE", "COLAB_TPU_1VM", "TPU_NAME", "TF_CONFIG",
                 "XLA_FLAGS", "KERAS_DISTRIBUTION_NUM_PROCESSES")
SETUP = ("import mnist_utils, keras\n"
         "print(keras.backend.backend())\n"
         "print(mnist_utils.versions())\n"
         "mnist_utils.find_accelerator()\n")


def run(code=SETUP, **env):
    clean = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    clean.update(JAX_PLATFORMS="cpu", CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="2", **env)
    done = subprocess.run([sys.executable, "-c", code], env=clean, cwd=REPO, text=True,
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.splitlines()


def test_tensorflow_is_the_default():
    backend, versions, line = run()
    assert backend == "tensorflow"
    assert versions.startswith("Keras 3.") and " on TensorFlow 2." in versions
    assert line.startswith("Keras on TensorFlow, running on the CPU with the default strategy")


def test_on_a_tpu_machine_jax_is_picked_and_the_line_says_so():
    backend, versions, line = run(TPU_ACCELERATOR_TYPE="v5e-1")
    assert backend == "jax" and " on JAX 0." in versions
    # This machine has no TPU: JAX finds only the CPU, and the line says what to check.
    assert line.startswith("Keras on JAX (picked for the TPU (TPU_ACCELERATOR_TYPE=v5e-1); set "
                           "KERAS_BACKEND before importing mnist_utils to choose another), "
                           "running on the CPU: a TPU seems attached"), line
    assert "is libtpu installed?" in line


def test_the_learners_keras_backend_always_wins():
    backend, _, line = run(TPU_ACCELERATOR_TYPE="v5e-1", KERAS_BACKEND="tensorflow")
    assert backend == "tensorflow" and "picked" not in line
    backend, _, line = run(KERAS_BACKEND="jax")
    assert backend == "jax"
    assert line == ("Keras on JAX, running on the CPU: no GPU or TPU found "
                    "(on Colab: Runtime > Change runtime type > T4 GPU).")


def test_keras_imported_first_keeps_its_backend():
    """Too late to choose once Keras has started: the series does not pretend otherwise."""
    code = "import keras\n" + SETUP
    backend, _, line = run(code, TPU_ACCELERATOR_TYPE="v5e-1")
    assert backend == "tensorflow" and "picked" not in line


def test_several_host_devices_on_jax_get_data_parallel():
    _, _, line = run(KERAS_BACKEND="jax", XLA_FLAGS="--xla_force_host_platform_device_count=2")
    assert line == "Keras on JAX, running on 2 CPU devices with DataParallel, 2 replicas in sync."


@pytest.mark.parametrize("version, needed", [("3.9.2", "Keras 3.10"), ("2.15.1", "TensorFlow 2.16")])
def test_versions_too_old_say_what_to_install(version, needed):
    package = "keras" if needed.startswith("Keras") else "tensorflow"
    code = (f"import {package}; {package}.__version__ = {version!r}\n"
            "import mnist_utils\n"
            "try:\n    mnist_utils.versions()\nexcept RuntimeError as e:\n    print(e)")
    message, = run(code, KERAS_BACKEND="tensorflow")
    assert message.startswith(f"This series needs {needed} or newer, found {version}: "
                              f"pip install -U {package}, then restart the kernel.")
