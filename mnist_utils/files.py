"""The four MNIST files: found (or downloaded), checked, and read as NumPy arrays.

Where the files come from, in this order:
1. a folder you name: `data_dir=...` or the environment variable MNIST_DATA_DIR (files as .gz
   or uncompressed);
2. a Kaggle dataset attached to the notebook: anywhere under /kaggle/input (KAGGLE_INPUT), in
   any folder layout, as .gz or uncompressed, also named the way the most used MNIST dataset
   there names them (`train-images.idx3-ubyte`, in a folder of the same name);
3. the Keras download cache (~/.keras/datasets/mnist, or $KERAS_HOME/datasets/mnist);
4. a download from the first public mirror that answers.
Every file is checked before use (header, size, and the md5 of its content), because a
half-downloaded file otherwise shows up much later as a baffling training error. A download is
written under a temporary name and renamed into place only once its checksum matched, so a
broken download, or two notebooks downloading at once, never leave a damaged file behind.

Plain Python and NumPy: this works with or without TensorFlow, on any Keras backend.
"""
import contextlib
import gzip
import hashlib
import os
import tempfile
import urllib.request
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

MIRRORS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
)
DOWNLOAD_TIMEOUT_S = 60
KAGGLE_INPUT = "/kaggle/input"  # where Kaggle mounts the datasets attached to a notebook
KAGGLE_DEPTH = 6  # folders below KAGGLE_INPUT searched: dataset, version, and the dataset's own


class MnistDataError(Exception):
    """An MNIST file is missing, damaged or cannot be fetched; the message says what to do."""


class MnistFile(NamedTuple):
    name: str    # file name, without .gz
    md5: str     # md5 of the uncompressed bytes: what the file holds, however it was compressed
    gz_md5: str  # md5 of the .gz the mirrors serve: checks a download


MNIST_FILES = {
    "train_images": MnistFile("train-images-idx3-ubyte", "6bbc9ace898e44ae57da46a324031adb",
                              "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    "train_labels": MnistFile("train-labels-idx1-ubyte", "a25bea736e30d166cdddb491f175f624",
                              "d53e105ee54ea40749a09fcbcd1e9432"),
    "test_images": MnistFile("t10k-images-idx3-ubyte", "2646ac647ad5339dbf082846283269ea",
                             "9fb629c4189551a2d022fa330f9573f3"),
    "test_labels": MnistFile("t10k-labels-idx1-ubyte", "27ae3e4e09519cfbb04c329615203637",
                             "ec29112dd5afa0611ce80d1b7f02629c"),
}
IMAGE_BYTES = 28 * 28
GET_HELP = ("If this machine has no internet access, download the four files "
            f"{', '.join(f.name + '.gz' for f in MNIST_FILES.values())} by hand (e.g. from "
            f"{MIRRORS[0]}) and set MNIST_DATA_DIR to the folder that holds them.")


# --- Finding the files -------------------------------------------------------------------

def mnist_files(data_dir=None, *, verify=True, mirrors=MIRRORS, cache_dir=None,
                known_files=MNIST_FILES):
    """Returns {role: path} for the four MNIST files, each checked (see module docstring).

    Roles: "train_images", "train_labels", "test_images", "test_labels". `verify=False` skips
    only the md5 of the content, not the header and size checks. `cache_dir` replaces Keras'
    cache folder, and `known_files` the table of names and checksums (both are for tests).
    """
    data_dir = os.path.expanduser(str(data_dir or os.environ.get("MNIST_DATA_DIR", "")))
    if data_dir:
        files = _files_in_folder(data_dir, known_files, verify)
    else:
        files = _files_in_cache_or_downloaded(mirrors, cache_dir, known_files, verify,
                                              _kaggle_candidates(known_files))
    for split in ("train", "test"):
        images, labels = (len(read_items(files[split + part], split + part))
                          for part in ("_images", "_labels"))
        if images != labels:
            raise MnistDataError(
                f"{files[split + '_images']} holds {images} images but "
                f"{files[split + '_labels']} holds {labels} labels: they must match. One of "
                "them is not the right file; replace both with the official MNIST files.")
    return files


def _files_in_folder(folder, known_files, verify):
    files, missing = {}, []
    for role, file in known_files.items():
        candidates = [path for path in (os.path.join(folder, file.name + ".gz"),
                                        os.path.join(folder, file.name)) if os.path.exists(path)]
        if candidates:
            files[role] = _first_good(candidates, role, file.md5 if verify else None)
        else:
            missing.append(file.name + "(.gz)")
    if missing:
        raise MnistDataError(
            f"MNIST files missing in the folder {folder} (given as data_dir or MNIST_DATA_DIR): "
            f"{', '.join(missing)}. Copy them there, point data_dir / MNIST_DATA_DIR to the "
            "folder that holds them, or leave both unset to download them.")
    return files


def _first_good(candidates, role, md5):
    """The first of `candidates` (name.gz, name) that passes the checks. Where none does, the
    error names each one, so that a damaged .gz next to a good copy is never a dead end."""
    errors = []
    for path in candidates:
        try:
            check_file(path, role, md5)
            return path
        except MnistDataError as err:
            errors.append(str(err))
    if len(errors) == 1:
        raise MnistDataError(errors[0])
    raise MnistDataError("No usable copy of this MNIST file:\n" +
                         "\n".join(f"  - {error}" for error in errors))


def _kaggle_candidates(known_files, root=None):
    """{role: [paths]} of the MNIST files in the Kaggle datasets under KAGGLE_INPUT, found by
    name at any depth: `name`, `name.gz`, and `train-images.idx3-ubyte` (a dot before "idx"),
    also .gz. Empty where there is no such folder (anywhere but on Kaggle)."""
    root = root or KAGGLE_INPUT
    names = {}
    for role, file in known_files.items():
        dotted = file.name.replace("-idx", ".idx")
        for name in (file.name, dotted):
            names[name] = names[name + ".gz"] = role
    found = {}
    if not os.path.isdir(root):
        return found
    for folder, subfolders, filenames in os.walk(root):
        depth = folder[len(root):].count(os.sep)
        if depth >= KAGGLE_DEPTH:
            subfolders.clear()
        subfolders.sort()
        for name in sorted(filenames):
            if name in names:
                found.setdefault(names[name], []).append(os.path.join(folder, name))
    return found


def _files_in_cache_or_downloaded(mirrors, cache_dir, known_files, verify, kaggle=None):
    cache_dir = os.path.expanduser(
        cache_dir or os.environ.get("KERAS_HOME") or os.path.join("~", ".keras"))
    cached = os.path.join(cache_dir, "datasets", "mnist")
    try:
        os.makedirs(cached, exist_ok=True)
    except OSError as e:
        raise MnistDataError(f"Cannot create the download folder {cached} ({e}). Set KERAS_HOME "
                             "to a folder you can write to, or MNIST_DATA_DIR.") from None
    files = {}
    for role, file in known_files.items():
        if (kaggle or {}).get(role):  # an attached Kaggle dataset: its copy, checked, or an error
            try:
                files[role] = _first_good(kaggle[role], role, file.md5 if verify else None)
            except MnistDataError as err:
                raise MnistDataError(
                    f"{err}\n(This copy comes from a Kaggle dataset attached to the notebook, "
                    f"under {KAGGLE_INPUT}: attach another MNIST dataset, or remove this one to "
                    "have the files downloaded.)") from None
            continue
        candidates = [path for path in (os.path.join(cached, file.name + ".gz"),
                                        os.path.join(cached, file.name)) if os.path.exists(path)]
        files[role] = (_first_good(candidates, role, file.md5 if verify else None) if candidates
                       else _download(file, mirrors, cached, role))
    return files


def _download(file, mirrors, folder, role):
    """Downloads `file`.gz from the first mirror that serves it intact, into `folder`.

    Written atomically (`write_atomically`) once its md5 matched: a failed download leaves
    nothing behind, and two processes downloading at the same time each rename a complete,
    identical file into place.
    """
    name = file.name + ".gz"
    target = os.path.join(folder, name)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise MnistDataError(f"Cannot write into the download folder {folder}. Set KERAS_HOME "
                             "to a folder you can write to, or MNIST_DATA_DIR.")
    errors = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name
        try:
            with write_atomically(target) as out, \
                    urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
                hasher = hashlib.md5()
                while chunk := response.read(1 << 20):
                    hasher.update(chunk)
                    out.write(chunk)
                if hasher.hexdigest() != file.gz_md5:
                    raise MnistDataError(f"the downloaded file's md5 hash is "
                                         f"{hasher.hexdigest()}, expected {file.gz_md5}")
                out.flush()
                partial = out.name
                check_file(partial, role, file.md5)
            _read[target] = (_version(target), *_read.pop(partial)[1:])  # read once, not twice
            return target
        except Exception as e:  # noqa: BLE001 - every mirror's failure is reported below
            errors.append(f"  - {mirror}: {e}")
    raise MnistDataError(f"Could not download {name} from any mirror:\n" + "\n".join(errors)
                         + "\n" + GET_HELP)


@contextlib.contextmanager
def write_atomically(path):
    """A file to write `path` through: a temporary file beside it, renamed into place when the
    `with` block ends without an error, deleted otherwise.

    Whoever reads `path` meanwhile (an image viewer, a web page, another notebook) sees the
    previous file or the new one, never half a file. Yields the file, open for binary writing.
    """
    path = Path(path)
    # ".part-x1y2-training.png": the same ending as the file (it says how to read it, e.g. .gz)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".part-", suffix="-" + path.name)
    os.close(fd)
    try:
        with open(temporary, "wb") as file:
            yield file
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)      # as an ordinary new file, not mkstemp's 0600
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _version(path):
    """What identifies one version of a file: its path, size and modification time."""
    stat = os.stat(path)
    return path, stat.st_size, stat.st_mtime_ns


# --- Checking and reading the files --------------------------------------------------------

_read = {}  # path -> (version, items, md5): each version of a file is read once per process


def clear_cache():
    """Forget the files read so far: the next use reads and checks each one again."""
    _read.clear()


def read_items(path, role):
    """The images (n, 28, 28) or labels (n,) of one IDX file, as uint8, checked but for its md5."""
    return _read_and_check(path, role)[0]


def check_file(path, role, md5=None):
    """Checks the header, length and (md5 not None) checksum of one IDX file."""
    digest = _read_and_check(path, role)[1]
    if md5 and digest != md5:
        raise MnistDataError(
            f"{path} is damaged or not the official MNIST file: the md5 of its content is "
            f"{digest}, expected {md5}. Delete it and download it again.")


def _read_and_check(path, role):
    try:
        key = _version(path)
    except OSError as e:
        raise MnistDataError(f"Cannot read {path}: {e.strerror or e}.") from None
    if _read.get(path, (None,))[0] != key:
        content = _content(path)
        _read[path] = key, _items(path, role, content), hashlib.md5(content).hexdigest()
    return _read[path][1:]


def _content(path):
    """The (uncompressed) bytes of a file, with errors that say what went wrong."""
    try:
        with open(path, "rb") as raw:
            data = raw.read()
        return gzip.decompress(data) if path.endswith(".gz") else data
    except PermissionError:
        raise MnistDataError(
            f"Cannot read {path}: permission denied. Make the file readable for this user "
            f"(e.g. chmod a+r {path}), or copy the MNIST files to a folder of yours and set "
            "MNIST_DATA_DIR to it.") from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise MnistDataError(f"{path} is truncated or is not a valid gzip file ({e}). "
                             "Delete it and download it again.") from None
    except OSError as e:
        raise MnistDataError(f"Cannot read {path}: {e}") from None


def _items(path, role, content):
    """Checks an IDX file's header and length; returns its items as a uint8 array."""
    is_images = role.endswith("images")
    magic, header_bytes, item_bytes = (2051, 16, IMAGE_BYTES) if is_images else (2049, 8, 1)
    what = "images" if is_images else "labels"
    header = content[:header_bytes]
    if len(header) < header_bytes or int.from_bytes(header[:4], "big") != magic:
        raise MnistDataError(
            f"{path} is not an MNIST {what} file: it does not start with the number {magic} "
            "that MNIST files of this kind start with. Check that the file is the right one.")
    count = int.from_bytes(header[4:8], "big")
    if is_images and header[8:16] != (28).to_bytes(4, "big") * 2:
        rows, cols = int.from_bytes(header[8:12], "big"), int.from_bytes(header[12:16], "big")
        raise MnistDataError(f"{path} holds images of {rows}x{cols} pixels, not 28x28: "
                             "it is not an MNIST file.")
    expected = header_bytes + count * item_bytes
    if len(content) != expected:
        problem = "is truncated" if len(content) < expected else "has extra bytes at its end"
        raise MnistDataError(
            f"{path} {problem}: its header announces {count} {what} ({expected} bytes) but it "
            f"holds {len(content)} bytes. Delete it and download it again.")
    items = np.frombuffer(content, np.uint8, offset=header_bytes)
    return items.reshape(count, 28, 28) if is_images else items
