"""Shared fixtures: the genuine MNIST files when present, small real arrays from them, a small
model trained with a LivePlot, and tiny MNIST files written by the tests (tests/helpers.py)."""
import gzip
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from helpers import tiny_contents, write_files

REPO = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPO.parent / "shared" / "mnist"


def _shared_dir():
    for candidate in (os.environ.get("MNIST_DATA_DIR"), SHARED_MNIST):
        if candidate and (Path(candidate) / "t10k-labels-idx1-ubyte.gz").exists():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def shared_mnist_dir():
    """The folder with the four genuine MNIST .gz files (../shared/mnist or MNIST_DATA_DIR)."""
    found = _shared_dir()
    if found is None:
        pytest.skip("the genuine MNIST files are not here: set MNIST_DATA_DIR to run this test")
    return found


def _read_idx(path, header_bytes):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read()[header_bytes:], dtype=np.uint8)


@pytest.fixture(scope="session")
def mnist_small(shared_mnist_dir):
    """2,000 training and 1,000 test digits as NumPy arrays, read without mnist_utils.

    Returns (x_train, y_train, x_test, y_test): images float32 in [0, 1] of shape
    (n, 28, 28, 1), labels int64 of shape (n,).
    """
    def images(name, n):
        return (_read_idx(shared_mnist_dir / name, 16)[: n * 784]
                .reshape(n, 28, 28, 1).astype(np.float32) / 255.0)

    def labels(name, n):
        return _read_idx(shared_mnist_dir / name, 8)[:n].astype(np.int64)

    return (images("train-images-idx3-ubyte.gz", 2000), labels("train-labels-idx1-ubyte.gz", 2000),
            images("t10k-images-idx3-ubyte.gz", 1000), labels("t10k-labels-idx1-ubyte.gz", 1000))


@pytest.fixture(scope="session")
def training_fingerprints(shared_mnist_dir):
    """The fingerprint of each of the 60,000 training digits, read straight from the file and
    sorted: what the distribution tests compare the digits each replica or process got with."""
    from jax_worker import fingerprints

    pixels = _read_idx(shared_mnist_dir / "train-images-idx3-ubyte.gz", 16).reshape(-1, 784)
    return np.sort(fingerprints(pixels / 255.0))


def uncap_keras():
    """No caps on epochs and steps (see conftest.py at the top), for this process from now on."""
    import keras

    keras.config.set_max_epochs(None)
    keras.config.set_max_steps_per_epoch(None)


@pytest.fixture(autouse=True)
def _uncapped_keras():
    """The notebooks run with Keras' epoch/step caps (see conftest.py at the top); tests do not."""
    uncap_keras()
    yield


@pytest.fixture(scope="session")
def trained(mnist_small):
    """A tiny dense model trained for 2 epochs with a LivePlot (weights and a scheduler).

    Returns (model, plot, history.history, the model's probabilities for the 1,000 test digits).
    """
    import keras

    from mnist_utils import LivePlot

    uncap_keras()   # made before any test's own fixtures run
    x, y, x_test, y_test = mnist_small
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    plot = LivePlot(weights=True)
    schedule = keras.callbacks.LearningRateScheduler(lambda epoch: 0.01 * 0.5**epoch)
    with warnings.catch_warnings():
        # Keras' own LearningRateScheduler (3.15) converts the rate in a way NumPy 2 deprecates.
        warnings.filterwarnings("ignore", "__array__ implementation", DeprecationWarning)
        history = model.fit(x, y, batch_size=50, epochs=2, validation_data=(x_test, y_test),
                            callbacks=[plot, schedule], verbose=0)
    return model, plot, history.history, model.predict(x_test, verbose=0)


# --- Tiny MNIST files (tests/helpers.py writes them) -------------------------------------------

@pytest.fixture
def no_mnist_data_dir(monkeypatch):
    """Tests choose their files themselves, whatever MNIST_DATA_DIR says outside."""
    monkeypatch.delenv("MNIST_DATA_DIR", raising=False)


@pytest.fixture
def tiny(tmp_path):
    """(folder, table) of four valid tiny .gz files."""
    folder = tmp_path / "mnist"
    return folder, write_files(folder, tiny_contents())


@pytest.fixture
def tiny_files(tiny):
    """{role: path} of the four tiny files, as mnist_files finds them."""
    from mnist_utils import data

    folder, table = tiny
    return data.mnist_files(folder, known_files=table)
