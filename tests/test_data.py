"""mnist_utils.data: finding, checking and reading the MNIST files. No network: downloads are
simulated with file:// mirrors, and most tests use tiny IDX files they write themselves."""
import gzip
import hashlib
import os
import struct

import keras
import numpy as np
import pytest
import tensorflow as tf

from mnist_utils import data
from mnist_utils.data import MnistDataError, MnistFile

N_TRAIN, N_TEST = 50, 20
NAMES = {role: f.name for role, f in data.MNIST_FILES.items()}


# --- Tiny MNIST files written by the tests -------------------------------------------------

def idx_bytes(role, items, magic=None, dims=(28, 28)):
    """An IDX file's bytes: header + items (uint8), as MNIST lays them out."""
    if role.endswith("images"):
        header = struct.pack(">IIII", magic or 2051, len(items), *dims)
    else:
        header = struct.pack(">II", magic or 2049, len(items))
    return header + np.asarray(items, np.uint8).tobytes()


def tiny_contents():
    """Image i of the training set has every pixel = i (so tests can tell digits apart),
    test image i every pixel = 100 + i; label = i % 10."""
    train, test = np.arange(N_TRAIN), np.arange(N_TEST)
    return {"train_images": idx_bytes("train_images", np.repeat(train, 784).reshape(-1, 28, 28)),
            "train_labels": idx_bytes("train_labels", train % 10),
            "test_images": idx_bytes("test_images", np.repeat(100 + test, 784).reshape(-1, 28, 28)),
            "test_labels": idx_bytes("test_labels", test % 10)}


def write_files(folder, contents, gz=True):
    """Writes the four files into folder; returns the table of names and checksums."""
    folder.mkdir(parents=True, exist_ok=True)
    table = {}
    for role, raw in contents.items():
        compressed = gzip.compress(raw, mtime=0)
        name = NAMES[role] + (".gz" if gz else "")
        (folder / name).write_bytes(compressed if gz else raw)
        table[role] = MnistFile(NAMES[role], hashlib.md5(raw).hexdigest(),
                                hashlib.md5(compressed).hexdigest())
    return table


@pytest.fixture(autouse=True)
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
    folder, table = tiny
    return data.mnist_files(folder, known_files=table)


def ids(images):
    """The number written into each tiny training image."""
    return np.rint(np.asarray(images).reshape(len(images), -1)[:, 0] * 255).astype(int)


# --- Local folders ---------------------------------------------------------------------------

@pytest.mark.parametrize("gz", [True, False])
def test_reads_gzip_or_uncompressed_files(tmp_path, gz):
    table = write_files(tmp_path, tiny_contents(), gz=gz)
    files = data.mnist_files(tmp_path, known_files=table)
    assert files["train_images"].endswith(".gz") == gz
    images, labels = data.load_digits(split="train", files=files)
    assert ids(images).tolist() == list(range(N_TRAIN))
    assert labels.tolist() == [i % 10 for i in range(N_TRAIN)]


def test_data_dir_from_environment_variable(tiny, monkeypatch):
    folder, table = tiny
    monkeypatch.setenv("MNIST_DATA_DIR", str(folder))
    assert data.mnist_files(known_files=table)["test_labels"] == str(
        folder / "t10k-labels-idx1-ubyte.gz")


def test_missing_file_in_named_folder_is_an_error_not_a_download(tiny, monkeypatch):
    folder, table = tiny
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    monkeypatch.setattr(keras.utils, "get_file", lambda *a, **k: pytest.fail("downloaded"))
    monkeypatch.setenv("MNIST_DATA_DIR", str(folder))
    with pytest.raises(MnistDataError, match="missing") as error:
        data.mnist_files(known_files=table)
    message = str(error.value)
    assert "t10k-labels-idx1-ubyte" in message and str(folder) in message
    assert "train-images" not in message and "MNIST_DATA_DIR" in message


def test_gs_paths_without_gcs_support_say_what_to_install(monkeypatch):
    monkeypatch.setattr(data, "_registered_schemes", lambda: ["file", ""])
    with pytest.raises(MnistDataError, match="tensorflow-io-gcs-filesystem"):
        data.mnist_files("gs://some-bucket/mnist")


# --- Damaged files -------------------------------------------------------------------------

def with_pixel_changed(raw):
    return raw[:100] + bytes([raw[100] ^ 1]) + raw[101:]


BROKEN = {  # name: (role, how its bytes are damaged, words the message must hold)
    "bad magic": ("train_labels",
                  lambda raw: idx_bytes("train_labels", np.zeros(N_TRAIN), magic=2051),
                  "not an MNIST labels file"),
    "truncated": ("train_images", lambda raw: raw[:-300], "is truncated"),
    "extra bytes": ("test_labels", lambda raw: raw + b"\0", "extra bytes"),
    "wrong dims": ("test_images",
                   lambda raw: idx_bytes("test_images", np.zeros((N_TEST, 32, 32)),
                                         dims=(32, 32)),
                   "32x32"),
    "count mismatch": ("train_labels",
                       lambda raw: idx_bytes("train_labels", np.zeros(N_TRAIN - 1)),
                       f"holds {N_TRAIN} images but"),
    "wrong checksum": ("test_images", with_pixel_changed, "md5"),
}


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
@pytest.mark.parametrize("problem", BROKEN)
def test_damaged_file_is_named_and_explained(tmp_path, problem, gz):
    role, damage, words = BROKEN[problem]
    table = write_files(tmp_path, tiny_contents(), gz=gz)  # the checksums of the good files
    contents = tiny_contents()
    contents[role] = damage(contents[role])
    write_files(tmp_path, contents, gz=gz)
    with pytest.raises(MnistDataError, match=words) as error:  # each check on its own:
        data.mnist_files(tmp_path, known_files=table, verify=problem == "wrong checksum")
    assert NAMES[role] in str(error.value)


def test_truncated_gzip_file(tiny):
    folder, table = tiny
    path = folder / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(MnistDataError, match="truncated") as error:
        data.mnist_files(folder, known_files=table)
    assert path.name in str(error.value)


def test_verify_false_skips_only_the_checksum(tmp_path):
    table = write_files(tmp_path, tiny_contents())
    contents = tiny_contents()
    contents["test_images"] = with_pixel_changed(contents["test_images"])
    write_files(tmp_path, contents)
    data.mnist_files(tmp_path, known_files=table, verify=False)
    contents["test_images"] = contents["test_images"][:-1]
    write_files(tmp_path, contents)
    with pytest.raises(MnistDataError, match="truncated"):
        data.mnist_files(tmp_path, known_files=table, verify=False)


def test_checks_are_done_once_per_file_version(tiny, monkeypatch):
    folder, table = tiny
    data.mnist_files(folder, known_files=table)
    reads = []
    read_and_hash = data._read_and_hash
    monkeypatch.setattr(data, "_read_and_hash", lambda path: reads.append(path)
                        or read_and_hash(path))
    data.mnist_files(folder, known_files=table)
    assert reads == []
    path = folder / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(with_pixel_changed(tiny_contents()["test_images"])))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    with pytest.raises(MnistDataError, match="md5"):
        data.mnist_files(folder, known_files=table)
    assert reads == [str(path)]


# --- Downloads (file:// mirrors) and the Keras cache ----------------------------------------

@pytest.fixture
def mirror(tmp_path):
    """(url, table) of a folder serving the four tiny .gz files."""
    folder = tmp_path / "mirror"
    return folder.as_uri() + "/", write_files(folder, tiny_contents())


def cached_files(cache):
    folder = cache / "datasets" / "mnist"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_goes_on_to_the_next_mirror(tmp_path, mirror):
    url, table = mirror
    cache = tmp_path / "cache"
    files = data.mnist_files(mirrors=((tmp_path / "nowhere").as_uri(), url), cache_dir=cache,
                             known_files=table)
    assert cached_files(cache) == sorted(f.name + ".gz" for f in table.values())
    assert files["train_labels"] == str(cache / "datasets" / "mnist" /
                                        "train-labels-idx1-ubyte.gz")


def test_all_mirrors_failing_lists_them_and_says_what_to_do(tmp_path, mirror):
    _, table = mirror
    mirrors = ((tmp_path / "a").as_uri() + "/", (tmp_path / "b").as_uri() + "/")
    with pytest.raises(MnistDataError) as error:
        data.mnist_files(mirrors=mirrors, cache_dir=tmp_path / "cache", known_files=table)
    message = str(error.value)
    assert all(m in message for m in mirrors)
    assert "train-images-idx3-ubyte.gz" in message and "MNIST_DATA_DIR" in message
    assert cached_files(tmp_path / "cache") == []


def test_corrupt_download_leaves_nothing_behind(tmp_path, mirror):
    url, table = mirror
    bad = tmp_path / "bad"
    contents = tiny_contents()
    contents["train_images"] = contents["train_images"][:-784]
    write_files(bad, contents)
    with pytest.raises(MnistDataError, match="hash"):
        data.mnist_files(mirrors=(bad.as_uri(),), cache_dir=tmp_path / "cache",
                         known_files=table)
    assert cached_files(tmp_path / "cache") == []
    # A good mirror after the bad one: the good file is used.
    files = data.mnist_files(mirrors=(bad.as_uri(), url), cache_dir=tmp_path / "cache",
                             known_files=table)
    assert data.load_digits(split="train", files=files)[0].shape == (N_TRAIN, 28, 28, 1)


def test_no_download_when_the_cache_has_the_files(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    table = write_files(cache / "datasets" / "mnist", tiny_contents())
    monkeypatch.setattr(keras.utils, "get_file", lambda *a, **k: pytest.fail("downloaded"))
    data.mnist_files(mirrors=((tmp_path / "nowhere").as_uri(),), cache_dir=cache,
                     known_files=table)


def test_https_data_dir_is_used_as_a_mirror(tmp_path, monkeypatch):
    origins = []

    def offline_get_file(fname, origin, **kwargs):
        origins.append(origin)
        raise Exception("no network in tests")

    monkeypatch.setattr(keras.utils, "get_file", offline_get_file)
    with pytest.raises(MnistDataError, match="example.invalid"):
        data.mnist_files("https://example.invalid/mnist", cache_dir=tmp_path)
    assert origins == ["https://example.invalid/mnist/train-images-idx3-ubyte.gz"]


# --- Datasets ------------------------------------------------------------------------------

def epoch(dataset):
    return [(x.numpy(), y.numpy()) for x, y in dataset]


def test_training_batches_shapes_and_formats(tiny_files):
    dataset = data.training_dataset(8, files=tiny_files)
    assert dataset.element_spec[0].shape == (8, 28, 28, 1)  # static: drop_remainder
    assert int(dataset.cardinality()) == N_TRAIN // 8
    batches = epoch(dataset)
    assert len(batches) == N_TRAIN // 8
    x, y = batches[0]
    assert x.dtype == np.float32 and x.shape == (8, 28, 28, 1) and 0 <= x.min() <= x.max() <= 1
    assert y.dtype == np.float32 and y.shape == (8, 10) and (y.sum(axis=1) == 1).all()
    x, y = epoch(data.training_dataset(8, flat=True, one_hot=False, files=tiny_files))[0]
    assert x.shape == (8, 784) and y.dtype == np.int32 and y.shape == (8,)


def test_training_order_changes_every_epoch_and_covers_every_digit(tiny_files):
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


def test_drop_remainder_keeps_each_digit_at_most_once(tiny_files):
    order = np.concatenate([ids(x) for x, _ in epoch(data.training_dataset(8, files=tiny_files))])
    assert len(order) == 48 and len(set(order)) == 48


def test_same_seed_same_order(tiny_files):
    def first_epoch(seed):
        dataset = data.training_dataset(10, seed=seed, files=tiny_files)
        return np.concatenate([ids(x) for x, _ in dataset]).tolist()

    assert first_epoch(1) == first_epoch(1) != first_epoch(2)


def test_validation_is_in_file_order_and_keeps_every_digit(tiny_files):
    dataset = data.validation_dataset(8, one_hot=False, files=tiny_files)
    assert int(dataset.cardinality()) == 3
    batches = epoch(dataset)
    assert [len(y) for _, y in batches] == [8, 8, 4]
    images = np.concatenate([x for x, _ in batches])
    assert (ids(images) == 100 + np.arange(N_TEST)).all()
    assert np.concatenate([y for _, y in batches]).tolist() == [i % 10 for i in range(N_TEST)]


def test_load_digits(tiny_files):
    x, y = data.load_digits(5, split="train", flat=True, one_hot=True, files=tiny_files)
    assert x.shape == (5, 784) and x.dtype == np.float32 and y.shape == (5, 10)
    assert ids(x).tolist() == [0, 1, 2, 3, 4] and y.argmax(axis=1).tolist() == [0, 1, 2, 3, 4]
    x, y = data.load_digits(files=tiny_files)
    assert x.shape == (N_TEST, 28, 28, 1) and y.dtype == np.int32
    with pytest.raises(ValueError, match="split"):
        data.load_digits(split="test", files=tiny_files)


# --- The genuine files ---------------------------------------------------------------------

def test_genuine_files_pass_verification(shared_mnist_dir):
    files = data.mnist_files(shared_mnist_dir, verify=True)  # the recompressed train set too
    assert set(files) == {"train_images", "train_labels", "test_images", "test_labels"}


def test_genuine_validation_set(shared_mnist_dir):
    (x, y), = epoch(data.validation_dataset(data_dir=shared_mnist_dir))
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
