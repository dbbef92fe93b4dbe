"""How fast mnist_utils.data reads MNIST, next to the way the original codelab read it.

Reading the 10,000 test digits, on the same files (MNIST_DATA_DIR or --data-dir): the codelab's per-record pipeline (below, as published)
   against `validation_dataset()`, which reads whole files. "cold" is the first pass
   (building the dataset, reading, decompressing, decoding; for ours also the md5 checks of the
   two files, which a fresh process makes before it reads them); "cached" the second pass through
   the same dataset after `.cache()`. Both are iterated with a plain Python loop, the way a
   notebook iterates a dataset (the targets apply to this), and, for information, inside
   TensorFlow with `Dataset.reduce`, which leaves out the Python cost of each element. The
   files are in the OS page cache in all cases.

The pipeline's cost in training time, for every notebook's model, is measured by
benchmarks/epoch_time.py.

Medians of a few repeats. Results go to benchmarks/results/input_pipeline.{json,md}.

Usage: MNIST_DATA_DIR=../shared/mnist python benchmarks/input_pipeline.py
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from mnist_utils import data, files as mnist_files  # noqa: E402

TARGETS = {"cold": 10.0, "cached": 2.5}  # how many times faster ours must be
RESULTS = Path(__file__).resolve().parent / "results"


# --- The original codelab's input pipeline (tensorflow-without-a-phd, keras_01..05) --------

def read_label(tf_bytestring):
    label = tf.io.decode_raw(tf_bytestring, tf.uint8)
    label = tf.reshape(label, [])
    label = tf.one_hot(label, 10)
    return label


def read_image(tf_bytestring):
    image = tf.io.decode_raw(tf_bytestring, tf.uint8)
    image = tf.cast(image, tf.float32)/256.0
    image = tf.reshape(image, [28*28])
    return image


def load_dataset(image_file, label_file):
    imagedataset = tf.data.FixedLengthRecordDataset(image_file, 28*28, header_bytes=16,
                                                    compression_type="GZIP")
    imagedataset = imagedataset.map(read_image, num_parallel_calls=16)
    labelsdataset = tf.data.FixedLengthRecordDataset(label_file, 1, header_bytes=8,
                                                     compression_type="GZIP")
    labelsdataset = labelsdataset.map(read_label, num_parallel_calls=16)
    dataset = tf.data.Dataset.zip((imagedataset, labelsdataset))
    return dataset


# --- Measurements --------------------------------------------------------------------------

# Both pipelines give one-hot labels: 10 numbers an image, so images = label numbers // 10.

def python_loop(dataset):
    """Iterates the dataset once in Python, as a notebook does; returns the number of images."""
    return sum(labels.shape.num_elements() // 10 for _, labels in dataset)


@tf.function
def in_graph(dataset):
    """Iterates the dataset once inside TensorFlow (no Python step per element)."""
    return dataset.reduce(0, lambda n, element: n + tf.size(element[1]) // 10)


def images_per_second(make_dataset, repeats, add_cache, loop):
    """Median images/s of a first pass (cold) and of a second pass after .cache() (cached).

    add_cache: whether to add .cache() (validation_dataset() has its own).
    """
    in_graph(make_dataset().take(1))  # traces in_graph for this kind of dataset, untimed
    cold, cached = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        n = int(loop(make_dataset()))
        cold.append(n / (time.perf_counter() - start))
        dataset = make_dataset().cache() if add_cache else make_dataset()
        in_graph(dataset)  # fills the cache
        start = time.perf_counter()
        n = int(loop(dataset))
        cached.append(n / (time.perf_counter() - start))
    return {"cold": statistics.median(cold), "cached": statistics.median(cached), "images": n}


def validation_from_disk(files):
    """validation_dataset() as a fresh process makes it: the two test files read from disk,
    decompressed and checked (header, length, md5) first, since that is part of its cost."""
    mnist_files._read.clear()
    for role in ("test_images", "test_labels"):
        mnist_files.check_file(files[role], role, data.MNIST_FILES[role].md5)
    return data.validation_dataset(files=files)


def reading_speeds(files, repeats):
    images, labels = files["test_images"], files["test_labels"]
    speeds = {}
    for loop in (python_loop, in_graph):
        baseline = images_per_second(lambda: load_dataset(images, labels), repeats,
                                     add_cache=True, loop=loop)
        ours = images_per_second(lambda: validation_from_disk(files), repeats,
                                 add_cache=False, loop=loop)
        speeds[loop.__name__] = {
            "baseline": baseline, "ours": ours,
            "ratio": {kind: ours[kind] / baseline[kind] for kind in ("cold", "cached")}}
    return speeds


def device_name():
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        return platform.processor() or "CPU"


# --- Report --------------------------------------------------------------------------------

def verdict(ratio, kind):
    return "pass" if ratio >= TARGETS[kind] else "FAIL"


def markdown(r):
    lines = [f"# Input pipeline benchmark ({r['date']})", "",
             f"TensorFlow {r['tensorflow']}, Keras {r['keras']}, {r['cpu_count']} CPUs "
             f"({r['device']}), load average {r['load_average']:.1f} when it started. "
             f"Medians of {r['repeats']} runs.", "",
             "Reading the 10,000 test digits, images/s:", "",
             "| pass | iterated with | baseline (per record) | ours (batched) | ratio | target |",
             "|---|---|---|---|---|---|"]
    for loop, speeds in r["reading"].items():
        for kind in ("cold", "cached"):
            ratio = speeds["ratio"][kind]
            target = (f">= {TARGETS[kind]}x: {verdict(ratio, kind)}" if loop == "python_loop"
                      else "(for information)")
            lines.append(f"| {kind} | {loop.replace('_', ' ')} | "
                         f"{speeds['baseline'][kind]:,.0f} | {speeds['ours'][kind]:,.0f} | "
                         f"{ratio:.1f}x | {target} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="folder with the four MNIST files "
                        "(default: MNIST_DATA_DIR, else the Keras cache or a download)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each reading test")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    results = {"date": datetime.datetime.now().isoformat(timespec="seconds"),
               "tensorflow": tf.__version__, "keras": keras.__version__,
               "cpu_count": os.cpu_count(), "device": device_name(),
               "load_average": os.getloadavg()[0], "repeats": args.repeats, "targets": TARGETS}
    files = data.mnist_files(args.data_dir)  # checked once here, so not inside the timings
    results["files"] = files
    results["reading"] = reading_speeds(files, args.repeats)
    report = markdown(results)
    print(report)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "input_pipeline.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "input_pipeline.md").write_text(report)


if __name__ == "__main__":
    main()
