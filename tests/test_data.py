"""mnist_utils.files and mnist_utils.data: finding, checking and reading the MNIST files, and
the batches made of them (tf.data, and the NumPy PyDataset used where TensorFlow is missing).
No network: downloads come from file:// mirrors or a local HTTP server, and most tests use tiny
IDX files they write themselves."""
import gzip
import hashlib
import http.server
import os
import shutil
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from mnist_utils import _numpy_batches, _tf_data, data, files as mnist_files_module
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
    monkeypatch.setattr(mnist_files_module, "_download", lambda *a: pytest.fail("downloaded"))
    monkeypatch.setenv("MNIST_DATA_DIR", str(folder))
    with pytest.raises(MnistDataError, match="missing") as error:
        data.mnist_files(known_files=table)
    message = str(error.value)
    assert "t10k-labels-idx1-ubyte" in message and str(folder) in message
    assert "train-images" not in message and "MNIST_DATA_DIR" in message


def test_gs_paths_without_gcs_support_say_what_to_install(monkeypatch):
    monkeypatch.setattr(tf.io.gfile, "get_registered_schemes", lambda: ["file", ""])
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


def test_a_damaged_gz_next_to_a_good_uncompressed_copy(tiny):
    folder, table = tiny
    raw = tiny_contents()["train_images"]
    gz = folder / "train-images-idx3-ubyte.gz"
    gz.write_bytes(gz.read_bytes()[:-20])
    (folder / "train-images-idx3-ubyte").write_bytes(raw)
    files = data.mnist_files(folder, known_files=table)  # the good copy is used
    assert files["train_images"] == str(folder / "train-images-idx3-ubyte")
    (folder / "train-images-idx3-ubyte").write_bytes(raw[:-1])  # both damaged: both named
    with pytest.raises(MnistDataError, match="No usable copy") as error:
        data.mnist_files(folder, known_files=table)
    assert f"{gz} is truncated or is not a valid gzip" in str(error.value)
    assert f"{folder / 'train-images-idx3-ubyte'} is truncated" in str(error.value)


def test_an_unreadable_file_says_permission_denied(tiny):
    """A real permission error; as root (who may read anything) without the right to override
    file permissions (setpriv drops CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH)."""
    folder, table = tiny
    locked = folder / "t10k-images-idx3-ubyte.gz"
    locked.chmod(0o000)
    code = ("import sys; from mnist_utils import data; from mnist_utils.files import MnistFile\n"
            "try:\n    data.mnist_files(sys.argv[1], known_files=eval(sys.argv[2]))\n"
            "except data.MnistDataError as e:\n    print(e)")
    command = [sys.executable, "-c", code, str(folder), repr(table)]
    if os.getuid() == 0:
        assert shutil.which("setpriv"), "setpriv (util-linux) is needed to test this as root"
        caps = "-dac_override,-dac_read_search"
        command = ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}", *command]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).parents[1])
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.startswith(f"Cannot read {locked}: permission denied."), run.stdout
    assert "chmod a+r" in run.stdout and "gzip" not in run.stdout


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
    content = mnist_files_module._content
    monkeypatch.setattr(mnist_files_module, "_content", lambda path: reads.append(path)
                        or content(path))
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


class SlowMirror(http.server.SimpleHTTPRequestHandler):
    """Serves a folder in small, slow pieces; the first file waits until two clients ask."""
    both_asking = threading.Barrier(2, timeout=60)

    def log_message(self, *args):
        pass

    def copyfile(self, source, destination):
        if "train-images" in self.path:
            self.both_asking.wait()
        while chunk := source.read(256):
            destination.write(chunk)
            destination.flush()
            time.sleep(0.01)


def test_two_processes_downloading_at_once_both_end_with_good_files(tmp_path, mirror):
    folder_url, table = mirror
    handler = lambda *args: SlowMirror(*args, directory=str(tmp_path / "mirror"))  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    code = ("import sys; from mnist_utils import data; from mnist_utils.files import MnistFile\n"
            "files = data.mnist_files(mirrors=(sys.argv[1],), cache_dir=sys.argv[2], "
            "known_files=eval(sys.argv[3]))\n"
            "print(data.load_digits(split='train', files=files)[0].shape)")
    try:
        kernels = [subprocess.Popen([sys.executable, "-c", code, url, str(tmp_path / "cache"),
                                     repr(table)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, cwd=Path(__file__).parents[1]) for _ in range(2)]
        outputs = [kernel.communicate(timeout=180) for kernel in kernels]
    finally:
        server.shutdown()
    for kernel, (out, err) in zip(kernels, outputs):
        assert kernel.returncode == 0, err[-2000:]
        assert out.strip() == f"({N_TRAIN}, 28, 28, 1)"
    assert cached_files(tmp_path / "cache") == sorted(f.name + ".gz" for f in table.values())
    data.mnist_files(cache_dir=tmp_path / "cache", mirrors=(), known_files=table)  # all good


def test_no_download_when_the_cache_has_the_files(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    table = write_files(cache / "datasets" / "mnist", tiny_contents())
    monkeypatch.setattr(mnist_files_module, "_download", lambda *a: pytest.fail("downloaded"))
    data.mnist_files(mirrors=((tmp_path / "nowhere").as_uri(),), cache_dir=cache,
                     known_files=table)


def test_https_data_dir_is_used_as_a_mirror(tmp_path, monkeypatch):
    origins = []

    def offline_urlopen(url, timeout=None):
        origins.append(url)
        raise OSError("no network in tests")

    monkeypatch.setattr(mnist_files_module.urllib.request, "urlopen", offline_urlopen)
    with pytest.raises(MnistDataError, match="example.invalid"):
        data.mnist_files("https://example.invalid/mnist", cache_dir=tmp_path)
    assert origins == ["https://example.invalid/mnist/train-images-idx3-ubyte.gz"]


# --- Datasets: tf.data, and the NumPy batches used where TensorFlow is not installed -------

@pytest.fixture(params=["tf.data", "PyDataset"])
def pipeline(request, monkeypatch):
    """Each dataset test runs on both pipelines, as data.py picks them."""
    chosen = _tf_data if request.param == "tf.data" else _numpy_batches
    monkeypatch.setattr(data, "_pipeline", lambda: chosen)
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
    x, y = epoch(data.training_dataset(8, flat=True, one_hot=False, files=tiny_files))[0]
    assert x.shape == (8, 784) and y.dtype == np.int32 and y.shape == (8,)


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
    x, y = data.load_digits(5, split="train", flat=True, one_hot=True, files=tiny_files)
    assert x.shape == (5, 784) and x.dtype == np.float32 and y.shape == (5, 10)
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
        from mnist_utils import _tf_data
        with tf.device("/CPU:1"):
            print(tf.constant(np.zeros(3)).device)
            print(_tf_data._host(np.zeros(3, np.uint8)).device)
    """
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=Path(__file__).parents[1],
                         env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert run.returncode == 0, run.stderr[-2000:]
    default, host = run.stdout.split()
    assert default.endswith("CPU:1") and host.endswith("CPU:0")


# --- The genuine files ---------------------------------------------------------------------

def test_genuine_files_pass_verification(shared_mnist_dir):
    files = data.mnist_files(shared_mnist_dir, verify=True)  # the recompressed train set too
    assert set(files) == {"train_images", "train_labels", "test_images", "test_labels"}


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
