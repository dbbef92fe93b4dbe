"""mnist_utils.files: finding, checking and reading the four MNIST files (through
mnist_utils.data's `mnist_files` and `load_digits`, as a learner calls them). No network:
downloads come from file:// mirrors or a local HTTP server, and most tests use tiny IDX files
they write themselves (tests/helpers.py)."""
import gzip
import http.server
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import N_TEST, N_TRAIN, NAMES, ids, idx_bytes, tiny_contents, write_files

from mnist_utils import data, files as mnist_files_module
from mnist_utils.data import MnistDataError

pytestmark = pytest.mark.usefixtures("no_mnist_data_dir")


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


def counted_reads(monkeypatch):
    """The list of paths whose content mnist_files reads (and checks) from now on."""
    reads = []
    content = mnist_files_module._content
    monkeypatch.setattr(mnist_files_module, "_content", lambda path: reads.append(path)
                        or content(path))
    return reads


def test_checks_are_done_once_per_file_version(tiny, monkeypatch):
    folder, table = tiny
    data.mnist_files(folder, known_files=table)
    reads = counted_reads(monkeypatch)
    data.mnist_files(folder, known_files=table)
    assert reads == []
    path = folder / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(with_pixel_changed(tiny_contents()["test_images"])))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    with pytest.raises(MnistDataError, match="md5"):
        data.mnist_files(folder, known_files=table)
    assert reads == [str(path)]


def test_clear_cache_makes_the_next_use_read_and_check_again(tiny, monkeypatch):
    """What a fresh process does, as the benchmarks time it (mnist_utils.files.clear_cache)."""
    folder, table = tiny
    data.mnist_files(folder, known_files=table)
    reads = counted_reads(monkeypatch)
    mnist_files_module.clear_cache()
    data.mnist_files(folder, known_files=table)
    assert sorted(reads) == sorted(str(folder / (f.name + ".gz")) for f in table.values())
    data.mnist_files(folder, known_files=table)
    assert len(reads) == 4                                      # then read once again


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


def test_genuine_files_pass_verification(shared_mnist_dir):
    files = data.mnist_files(shared_mnist_dir, verify=True)  # the recompressed train set too
    assert set(files) == {"train_images", "train_labels", "test_images", "test_labels"}
