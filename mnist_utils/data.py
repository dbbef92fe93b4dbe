"""MNIST as tf.data datasets: the four files found (or downloaded), checked, then read fast.

Where the files come from, in this order:
1. a folder you name: `data_dir=...` or the environment variable MNIST_DATA_DIR (files as .gz
   or uncompressed; a gs:// folder works too, and an https:// address is used as a mirror);
2. the Keras download cache (~/.keras/datasets/mnist, or $KERAS_HOME/datasets/mnist);
3. a download from the first public mirror that answers.
Every file is checked before use (header, size, and the md5 of its content), because a
half-downloaded file otherwise shows up much later as a baffling training error.

Reading is fast because images are decoded a whole batch at a time (one `decode_raw` for
thousands of records), and the training set is shuffled by shuffling a list of indices and
gathering whole batches from the decoded digits.
"""
import gzip
import hashlib
import math
import os
import zlib
from typing import NamedTuple

import keras
import tensorflow as tf

MIRRORS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
)


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
    if data_dir.startswith(("https://", "http://")):
        mirrors, data_dir = (data_dir,), ""
    if data_dir:
        files = _files_in_folder(data_dir, known_files)
    else:
        files = _files_in_cache_or_downloaded(mirrors, cache_dir, known_files)
    _check_files(files, known_files, verify)
    return files


def _find(folder, name):
    """The path of `name` or `name.gz` in `folder`, or None."""
    for candidate in (name + ".gz", name):
        path = tf.io.gfile.join(folder, candidate)
        if tf.io.gfile.exists(path):
            return path
    return None


def _files_in_folder(folder, known_files):
    if folder.startswith("gs://") and "gs" not in _registered_schemes():
        raise MnistDataError(
            f"Cannot read {folder}: this TensorFlow cannot open gs:// paths. Install the package "
            "tensorflow-io-gcs-filesystem (`pip install tensorflow-io-gcs-filesystem`), or use "
            "an https:// mirror or a local folder instead.")
    try:
        files = {role: _find(folder, f.name) for role, f in known_files.items()}
    except tf.errors.OpError as e:
        raise MnistDataError(f"Cannot look into {folder}: {e.message}") from None
    missing = [f.name + "(.gz)" for role, f in known_files.items() if files[role] is None]
    if missing:
        raise MnistDataError(
            f"MNIST files missing in the folder {folder} (given as data_dir or MNIST_DATA_DIR): "
            f"{', '.join(missing)}. Copy them there, point data_dir / MNIST_DATA_DIR to the "
            "folder that holds them, or leave both unset to download them.")
    return files


def _registered_schemes():
    return tf.io.gfile.get_registered_schemes()


def _files_in_cache_or_downloaded(mirrors, cache_dir, known_files):
    cache_dir = os.path.expanduser(
        cache_dir or os.environ.get("KERAS_HOME") or os.path.join("~", ".keras"))
    cached = os.path.join(cache_dir, "datasets", "mnist")
    try:
        os.makedirs(cached, exist_ok=True)  # or get_file would download into /tmp/.keras
    except OSError as e:
        raise MnistDataError(f"Cannot create the download folder {cached} ({e}). Set KERAS_HOME "
                             "to a folder you can write to, or MNIST_DATA_DIR.") from None
    return {role: _find(cached, f.name) or _download(f, mirrors, cache_dir)
            for role, f in known_files.items()}


def _download(file, mirrors, cache_dir):
    """Downloads `file`.gz from the first mirror that serves it intact, into the Keras cache."""
    name = file.name + ".gz"
    target = os.path.join(cache_dir, "datasets", "mnist", name)
    errors = []
    for mirror in mirrors:
        try:
            return keras.utils.get_file(name, mirror.rstrip("/") + "/" + name,
                                        file_hash=file.gz_md5, hash_algorithm="md5",
                                        cache_dir=cache_dir, cache_subdir="datasets/mnist")
        except Exception as e:  # get_file keeps a file that fails its hash check: remove it
            if os.path.exists(target):
                os.remove(target)
            errors.append(f"  - {mirror}: {e}")
    raise MnistDataError(f"Could not download {name} from any mirror:\n" + "\n".join(errors)
                         + "\n" + GET_HELP)


# --- Checking the files ------------------------------------------------------------------

_checked = {}  # (path, size, mtime) -> (item count, md5): each file is read once per process


def _check_files(files, known_files, verify):
    counts = {role: _check_file(path, role, known_files[role].md5 if verify else None)
              for role, path in files.items()}
    for split in ("train", "test"):
        images, labels = counts[split + "_images"], counts[split + "_labels"]
        if images != labels:
            raise MnistDataError(
                f"{files[split + '_images']} holds {images} images but "
                f"{files[split + '_labels']} holds {labels} labels: they must match. One of "
                "them is not the right file; replace both with the official MNIST files.")


def _layout(role):
    """(magic number, header bytes, bytes per item) of the IDX files of this role."""
    return (2051, 16, IMAGE_BYTES) if role.endswith("images") else (2049, 8, 1)


def _check_file(path, role, md5=None):
    """Checks header, length and (md5 not None) checksum of one IDX file; returns its item count."""
    stat = tf.io.gfile.stat(path)
    key = (path, stat.length, stat.mtime_nsec)
    if key not in _checked:
        header, length, digest = _read_and_hash(path)
        _checked[key] = _check_header(path, role, header, length), digest
    count, digest = _checked[key]
    if md5 and digest != md5:
        raise MnistDataError(
            f"{path} is damaged or not the official MNIST file: the md5 of its content is "
            f"{digest}, expected {md5}. Delete it and download it again.")
    return count


def _read_and_hash(path):
    """The first 16 bytes, the length and the md5 of the (uncompressed) content of a file."""
    hasher, length, header = hashlib.md5(), 0, b""
    try:
        with tf.io.gfile.GFile(path, "rb") as raw:
            f = gzip.GzipFile(fileobj=raw) if path.endswith(".gz") else raw
            while chunk := f.read(1 << 20):
                header += chunk[:16 - len(header)]
                hasher.update(chunk)
                length += len(chunk)
    except (EOFError, OSError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        raise MnistDataError(f"{path} is truncated or is not a valid gzip file ({e}). "
                             "Delete it and download it again.") from None
    except tf.errors.OpError as e:
        raise MnistDataError(f"Cannot read {path}: {e.message}") from None
    return header, length, hasher.hexdigest()


def _check_header(path, role, header, length):
    magic, header_bytes, item_bytes = _layout(role)
    what = "images" if role.endswith("images") else "labels"
    if len(header) < header_bytes or int.from_bytes(header[:4], "big") != magic:
        raise MnistDataError(
            f"{path} is not an MNIST {what} file: it does not start with the number {magic} "
            "that MNIST files of this kind start with. Check that the file is the right one.")
    count = int.from_bytes(header[4:8], "big")
    if what == "images" and header[8:16] != (28).to_bytes(4, "big") * 2:
        rows, cols = int.from_bytes(header[8:12], "big"), int.from_bytes(header[12:16], "big")
        raise MnistDataError(f"{path} holds images of {rows}x{cols} pixels, not 28x28: "
                             "it is not an MNIST file.")
    expected = header_bytes + count * item_bytes
    if length != expected:
        problem = "is truncated" if length < expected else "has extra bytes at its end"
        raise MnistDataError(
            f"{path} {problem}: its header announces {count} {what} ({expected} bytes) but it "
            f"holds {length} bytes. Delete it and download it again.")
    return count


# --- Reading the files as tf.data datasets -----------------------------------------------

def _records(path, role, items_per_record=1):
    """The raw records of one file: each a string of `items_per_record` images or labels."""
    _, header_bytes, item_bytes = _layout(role)
    return tf.data.FixedLengthRecordDataset(
        path, item_bytes * items_per_record, header_bytes=header_bytes, buffer_size=1 << 20,
        compression_type="GZIP" if path.endswith(".gz") else "")


def _decode(records):
    """A batch of raw records -> a uint8 tensor, with one decode_raw for the whole batch."""
    return tf.io.decode_raw(records, tf.uint8)


def _model_format(images, labels, flat, one_hot):
    """uint8 images and labels -> float32 images in [0, 1], and one-hot or int32 labels."""
    images = tf.cast(images, tf.float32) / 255.0
    images = tf.reshape(images, [-1, IMAGE_BYTES] if flat else [-1, 28, 28, 1])
    labels = tf.cast(tf.reshape(labels, [-1]), tf.int32)
    return images, (tf.one_hot(labels, 10) if one_hot else labels)


def _with_length(batches, n_batches):
    """Says how many batches there are (tf.data cannot tell from the files, Keras shows it in
    its progress bar), and that several machines should share the data by batches."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return batches.apply(tf.data.experimental.assert_cardinality(n_batches)).with_options(options)


def _read_all(path, role, n=None):
    """The first n (default: all) items of a file as one uint8 tensor.

    Records of thousands of items at a time (a number that divides n), so that reading and
    decoding cost a few operations per file instead of one per digit.
    """
    count = _check_file(path, role)
    n = min(n or count, count)
    per_record = math.gcd(n, 10_000)
    records = _records(path, role, per_record).take(n // per_record)
    return tf.reshape(tf.concat(list(records.batch(10).map(_decode)), axis=0), [n, -1])


def training_dataset(batch_size=128, *, flat=False, one_hot=True, data_dir=None, seed=None,
                     files=None):
    """The 60,000 training digits in batches, in a new random order each epoch.

    Full batches only (drop_remainder: static shapes, as TPUs need), not repeated: Keras goes
    through it once per epoch. The digits are decoded once and kept in memory as model input;
    each epoch shuffles the list of their indices (one vectorised op) and gathers whole batches.
    `files`: a dict from `mnist_files()` to read instead of looking for the files again.
    """
    files = files or mnist_files(data_dir)
    # Converted to model input once (188 MB of float32): each batch is then a plain gather.
    images, labels = _model_format(_read_all(files["train_images"], "train_images"),
                                   _read_all(files["train_labels"], "train_labels"),
                                   flat, one_hot)
    n = int(labels.shape[0])

    def batches_of_one_epoch(epoch_seed):
        order = tf.random.experimental.stateless_shuffle(tf.range(n), seed=[epoch_seed, 0])
        full_batches = order[: n // batch_size * batch_size]
        return tf.data.Dataset.from_tensor_slices(tf.reshape(full_batches, [-1, batch_size]))

    def gather(indices):
        return tf.gather(images, indices), tf.gather(labels, indices)

    # One new seed per pass through the dataset: a new order every epoch, reproducible with seed.
    epoch_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
    batches = _with_length(epoch_seeds.flat_map(batches_of_one_epoch), n // batch_size)
    return batches.map(gather).prefetch(tf.data.AUTOTUNE)


def validation_dataset(batch_size=10_000, *, flat=False, one_hot=True, data_dir=None,
                       files=None):
    """The 10,000 test digits in file order, in batches (the last one may be smaller).

    Read once into memory, and cached as model input after the first pass, so validating
    after every epoch costs little.
    """
    files = files or mnist_files(data_dir)
    images = _read_all(files["test_images"], "test_images")
    labels = _read_all(files["test_labels"], "test_labels")
    n = int(labels.shape[0])
    batches = tf.data.Dataset.range(0, n, batch_size).map(
        lambda start: _model_format(images[start:start + batch_size],
                                    labels[start:start + batch_size], flat, one_hot))
    return _with_length(batches, math.ceil(n / batch_size)).cache().prefetch(tf.data.AUTOTUNE)


def load_digits(n=None, *, split="validation", flat=False, one_hot=False, data_dir=None,
                files=None):
    """The first n digits (default: all) of "train" or "validation" as NumPy (images, labels)."""
    if split not in ("train", "validation"):
        raise ValueError(f'split must be "train" or "validation", not {split!r}')
    prefix = "train" if split == "train" else "test"
    files = files or mnist_files(data_dir)
    images = _read_all(files[prefix + "_images"], prefix + "_images", n)
    labels = _read_all(files[prefix + "_labels"], prefix + "_labels", n)
    images, labels = _model_format(images, labels, flat, one_hot)
    return images.numpy(), labels.numpy()
