"""mnist_utils.data: the batches made of the MNIST files for `model.fit` (tf.data, and the NumPy
PyDataset used where TensorFlow is missing), and digits to look at. Most tests use tiny IDX
files they write themselves (tests/helpers.py); the last ones read the genuine files."""
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import N_TEST, N_TRAIN, ids

from mnist_utils import data

pytestmark = pytest.mark.usefixtures("no_mnist_data_dir")


# --- Datasets: tf.data, and the NumPy batches used where TensorFlow is not installed -------

@pytest.fixture(params=["tf.data", "PyDataset"])
def pipeline(request, monkeypatch):
    """Each dataset test runs on both pipelines, as data.py picks them."""
    monkeypatch.setattr(data, "_pipeline", lambda: request.param)
    return request.param


def epoch(dataset):
    """One pass through a dataset, as model.fit makes it: (images, labels) per batch."""
    if isinstance(dataset, tf.data.Dataset):
        return [(x.numpy(), y.numpy()) for x, y in dataset]
    batches = [dataset[i] for i in range(len(dataset))]
    dataset.on_epoch_end()  # what Keras calls after each epoch
    return batches


def test_training_batches_shapes_and_formats(tiny_files, pipeline):
    dataset = data.training_dataset(8, files=tiny_files)
    if pipeline == "tf.data":
        assert dataset.element_spec[0].shape == (8, 28, 28, 1)  # static: drop_remainder
        assert int(dataset.cardinality()) == N_TRAIN // 8
    else:
        assert isinstance(dataset, keras.utils.PyDataset) and len(dataset) == N_TRAIN // 8
    batches = epoch(dataset)
    assert len(batches) == N_TRAIN // 8
    x, y = batches[0]
    assert x.dtype == np.float32 and x.shape == (8, 28, 28, 1) and 0 <= x.min() <= x.max() <= 1
    assert y.dtype == np.float32 and y.shape == (8, 10) and (y.sum(axis=1) == 1).all()
    x, y = epoch(data.training_dataset(8, one_hot=False, files=tiny_files))[0]
    assert x.shape == (8, 28, 28, 1) and y.dtype == np.int32 and y.shape == (8,)


def test_training_order_changes_every_epoch_and_covers_every_digit(tiny_files, pipeline):
    dataset = data.training_dataset(10, one_hot=False, files=tiny_files)
    orders = []
    for _ in range(2):
        batches = epoch(dataset)
        order = np.concatenate([ids(x) for x, _ in batches])
        assert sorted(order) == list(range(N_TRAIN))  # every digit once
        labels = np.concatenate([y for _, y in batches])
        assert (labels == order % 10).all()  # images and labels stay together
        orders.append(order.tolist())
    assert orders[0] != orders[1] and orders[0] != list(range(N_TRAIN))


def test_drop_remainder_keeps_each_digit_at_most_once(tiny_files, pipeline):
    order = np.concatenate([ids(x) for x, _ in epoch(data.training_dataset(8, files=tiny_files))])
    assert len(order) == 48 and len(set(order)) == 48


def test_same_seed_same_order(tiny_files, pipeline):
    def two_epochs(seed):
        dataset = data.training_dataset(10, seed=seed, files=tiny_files)
        return [np.concatenate([ids(x) for x, _ in epoch(dataset)]).tolist() for _ in range(2)]

    assert two_epochs(1) == two_epochs(1) != two_epochs(2)


def test_validation_is_in_file_order_and_keeps_every_digit(tiny_files, pipeline):
    dataset = data.validation_dataset(8, one_hot=False, files=tiny_files)
    batches = epoch(dataset)
    assert [len(y) for _, y in batches] == [8, 8, 4]
    images = np.concatenate([x for x, _ in batches])
    assert (ids(images) == 100 + np.arange(N_TEST)).all()
    assert np.concatenate([y for _, y in batches]).tolist() == [i % 10 for i in range(N_TEST)]
    if pipeline == "tf.data":
        assert int(dataset.cardinality()) == 3
        assert dataset.element_spec[0].shape.as_list() == [None, 28, 28, 1]
        # A batch size that divides the set: every batch full, a static shape (TPUs need it).
        assert data.validation_dataset(5, files=tiny_files).element_spec[0].shape == (5, 28, 28, 1)


@pytest.mark.parametrize("bad", [0, -8, 2.5, "128", True])
def test_a_bad_batch_size_is_a_clear_error(tiny_files, bad):
    for make in (data.training_dataset, data.validation_dataset):
        with pytest.raises((ValueError, TypeError), match="batch_size"):
            make(bad, files=tiny_files)


def test_several_processes_need_a_shared_seed(tiny_files, monkeypatch):
    """Workers that shuffle each in their own way would use some digits twice per epoch."""
    monkeypatch.setenv("KERAS_DISTRIBUTION_NUM_PROCESSES", "2")
    with pytest.raises(ValueError, match="needs a seed when 2 processes train together"):
        data.training_dataset(8, files=tiny_files)
    data.training_dataset(8, seed=1, files=tiny_files)
    monkeypatch.delenv("KERAS_DISTRIBUTION_NUM_PROCESSES")
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["a:1", "b:1", "c:1"]}, '
                                    '"task": {"type": "worker", "index": 0}}')
    with pytest.raises(ValueError, match="3 processes"):
        data.training_dataset(8, files=tiny_files)


def test_load_digits(tiny_files):
    x, y = data.load_digits(5, split="train", one_hot=True, files=tiny_files)
    assert x.shape == (5, 28, 28, 1) and x.dtype == np.float32 and y.shape == (5, 10)
    assert ids(x).tolist() == [0, 1, 2, 3, 4] and y.argmax(axis=1).tolist() == [0, 1, 2, 3, 4]
    x, y = data.load_digits(files=tiny_files)
    assert x.shape == (N_TEST, 28, 28, 1) and y.dtype == np.int32
    x, y = data.load_digits(0, files=tiny_files)
    assert x.shape == (0, 28, 28, 1) and y.shape == (0,)
    with pytest.raises(ValueError, match="split"):
        data.load_digits(split="test", files=tiny_files)
    with pytest.raises(ValueError, match="whole number of digits"):
        data.load_digits(-1, files=tiny_files)


def test_training_digits_stay_in_host_memory():
    """On a GPU runtime the decoded digits must not land in GPU memory: they are placed on the
    CPU whatever the default device (here another device, a second logical CPU)."""
    code = """if True:
        import numpy as np, tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from mnist_utils import data
        with tf.device("/CPU:1"):
            print(tf.constant(np.zeros(3)).device)
            print(data._host(np.zeros(3, np.uint8)).device)
    """
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=Path(__file__).parents[1],
                         env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert run.returncode == 0, run.stderr[-2000:]
    default, host = run.stdout.split()
    assert default.endswith("CPU:1") and host.endswith("CPU:0")


# --- The genuine files ---------------------------------------------------------------------

def test_genuine_validation_set(shared_mnist_dir):
    dataset = data.validation_dataset(data_dir=shared_mnist_dir)
    assert dataset.element_spec[0].shape == (1000, 28, 28, 1)  # static, and 4 GB GPU-sized
    batches = epoch(dataset)
    x, y = np.concatenate([x for x, _ in batches]), np.concatenate([y for _, y in batches])
    assert x.shape == (10_000, 28, 28, 1) and x.dtype == np.float32
    assert x.min() == 0 and x.max() == 1
    assert y.shape == (10_000, 10) and y.dtype == np.float32
    assert y.sum(axis=0).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert y[:10].argmax(axis=1).tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


def test_genuine_first_digits_match_a_plain_reading(shared_mnist_dir, mnist_small):
    x_train, y_train, x_test, y_test = mnist_small
    x, y = data.load_digits(1000, data_dir=shared_mnist_dir)
    np.testing.assert_allclose(x, x_test, atol=1e-6)
    assert (y == y_test).all()
    x, y = data.load_digits(10, split="train", data_dir=shared_mnist_dir)
    np.testing.assert_allclose(x, x_train[:10], atol=1e-6)
    assert y.tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]


def test_genuine_training_dataset(shared_mnist_dir):
    dataset = data.training_dataset(data_dir=shared_mnist_dir, seed=0)
    assert int(dataset.cardinality()) == 60_000 // 128
    x, y = next(iter(dataset))
    assert x.shape == (128, 28, 28, 1) and y.shape == (128, 10)
    assert tf.reduce_max(x) <= 1 and tf.reduce_min(x) >= 0
