"""Shared fixtures: the genuine MNIST files when present, and small real arrays from them."""
import gzip
import os
from pathlib import Path

import numpy as np
import pytest

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
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from jax_worker import fingerprints

    pixels = _read_idx(shared_mnist_dir / "train-images-idx3-ubyte.gz", 16).reshape(-1, 784)
    return np.sort(fingerprints(pixels / 255.0))


@pytest.fixture(autouse=True)
def _uncapped_keras():
    """The notebooks run with Keras' epoch/step caps (see conftest.py at the top); tests do not."""
    import keras

    keras.config.set_max_epochs(None)
    keras.config.set_max_steps_per_epoch(None)
    yield
