"""The series beyond Keras' TensorFlow backend: the five notebooks under nbval on JAX, and
notebook 01 in an environment where TensorFlow is not installed at all.

The environment without TensorFlow is a real one, made by .ci/run (a virtual environment with
this package, JAX, nbval and pytest: `pip install -e ".[jax]" nbval pytest ipykernel`); its
Python is named by MNIST_NO_TF_PYTHON. Without it this test is skipped, unless MNIST_CI=1 (CI)
makes its absence an error.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from notebook_code import notebook_paths

REPO = Path(__file__).resolve().parents[1]
NOT_INHERITED = ("KERAS_BACKEND", "TF_CONFIG", "XLA_FLAGS", "TPU_ACCELERATOR_TYPE",
                 "KERAS_DISTRIBUTION_NUM_PROCESSES", "PYTEST_ADDOPTS")


def env(**extra):
    clean = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    clean.update(JAX_PLATFORMS="cpu", CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="2", **extra)
    return clean


def nbval(python, notebooks, **extra):
    """nbval (as configured in pyproject.toml) over notebooks, in a fresh process."""
    return subprocess.run([python, "-m", "pytest", "-q", "-p", "no:randomly", *notebooks],
                          env=env(**extra), cwd=REPO, text=True, capture_output=True,
                          timeout=1200)


def test_the_five_notebooks_pass_nbval_on_jax():
    notebooks = [str(p.relative_to(REPO)) for p in notebook_paths()]
    assert len(notebooks) == 5
    done = nbval(sys.executable, notebooks, KERAS_BACKEND="jax")
    assert done.returncode == 0, done.stdout[-5000:]
    assert " failed" not in done.stdout and " passed" in done.stdout


@pytest.fixture(scope="module")
def python_without_tensorflow():
    python = os.environ.get("MNIST_NO_TF_PYTHON")
    if not python:
        message = ("MNIST_NO_TF_PYTHON names no Python without TensorFlow "
                   '(make one: python -m venv v && v/bin/pip install -e ".[jax]" nbval pytest '
                   "ipykernel)")
        if os.environ.get("MNIST_CI") == "1":
            pytest.fail(message)
        pytest.skip(message)
    missing = subprocess.run([python, "-c", "import tensorflow"], capture_output=True, text=True)
    assert "No module named 'tensorflow'" in missing.stderr, "TensorFlow is installed there"
    return python


def test_without_tensorflow_the_series_picks_jax_and_serves_numpy_batches(
        python_without_tensorflow):
    code = """if True:
        import mnist_utils, keras
        accelerator = mnist_utils.find_accelerator()
        train = mnist_utils.training_dataset(256, seed=1)
        first = [train[0][1].argmax(axis=1).tolist()]
        with accelerator.scope():
            model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                                      keras.layers.Dense(10, activation="softmax")])
            model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(train, epochs=2, validation_data=mnist_utils.validation_dataset(),
                            verbose=0).history
        first.append(train[0][1].argmax(axis=1).tolist())
        print(type(train).__name__, train.epoch, first[0] != first[1],
              round(history["val_accuracy"][-1], 2))
    """
    uncapped = {k: v for k, v in env().items() if not k.startswith("KERAS_MAX_")}
    done = subprocess.run([python_without_tensorflow, "-c", code], env=uncapped, cwd=REPO,
                          text=True, capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    line, result = done.stdout.splitlines()
    assert line == ("Keras on JAX (picked because TensorFlow is not installed; set KERAS_BACKEND "
                    "before importing mnist_utils to choose another), running on the CPU: no GPU "
                    "or TPU found (on Colab: Runtime > Change runtime type > T4 GPU).")
    kind, epochs, reshuffled, accuracy = result.split()
    assert (kind, reshuffled) == ("MnistBatches", "True") and int(epochs) >= 2  # new orders
    assert float(accuracy) > 0.88  # 2 epochs of one softmax layer


def test_notebook_01_runs_top_to_bottom_without_tensorflow(python_without_tensorflow):
    done = nbval(python_without_tensorflow, ["notebooks/01_softmax.ipynb"])
    assert done.returncode == 0, done.stdout[-5000:]
    assert " failed" not in done.stdout and " passed" in done.stdout
