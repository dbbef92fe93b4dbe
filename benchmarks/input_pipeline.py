"""How fast mnist_utils.data reads MNIST, next to the original codelab's reader, iterated alike.

On the same files (MNIST_DATA_DIR or --data-dir), both readers as they are used:
- the original's as it was published (benchmarks/codelab.py: a per-record map, cache, shuffle(5000)
  and batches of 128 for training; cache and one batch of 10,000 for validation);
- ours: `training_dataset(128, seed=1)` and `validation_dataset()` (batches of 1,000).
Both are batched. "cold" is the first pass through a freshly made dataset: making it, reading,
decompressing and decoding the files, and for ours also the checks (header, length, md5) that a
fresh process makes before it reads them. "cached" is a second pass through the same dataset.
Each is iterated three ways: in a Python loop (as a notebook looks at batches); inside
TensorFlow with `Dataset.reduce` (no Python per batch); and through Keras, as the notebooks use
them: `model.fit` for the training set (one epoch of 468 batches, the original with its
`steps_per_epoch`) and `model.evaluate` for the validation set, with a model so small (one
softmax layer) that the reader's cost shows; these are traced once on another copy of the
dataset beforehand, so tracing is not timed.

The pipeline's cost in training time, for every notebook's real model, is measured by
benchmarks/epoch_time.py.

Medians of a few repeats. Results go to benchmarks/results/input_pipeline.{json,md}.

Usage: MNIST_DATA_DIR=../shared/mnist python benchmarks/input_pipeline.py
"""
import argparse
import datetime
import os
import platform
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import codelab  # noqa: E402
from _plumbing import RESULTS, versions, write_results  # noqa: E402  (before mnist_utils)
from mnist_utils import data, files as mnist_files  # noqa: E402

BATCH_SIZE = 128
STEPS = 60_000 // BATCH_SIZE  # full batches in an epoch, for both readers
IMAGES = {"training": STEPS * BATCH_SIZE, "validation": 10_000}


# --- The two readers, as their notebooks make them ---------------------------------------

def original(files, split):
    if split == "training":
        return codelab.get_training_dataset(files["train_images"], files["train_labels"],
                                            BATCH_SIZE).take(STEPS)
    return codelab.get_validation_dataset(files["test_images"], files["test_labels"]).take(1)


def ours(files, split):
    """Ours as a fresh process makes it: files read from disk, decompressed and checked."""
    mnist_files.clear_cache()
    prefix = "train" if split == "training" else "test"
    for role in (f"{prefix}_images", f"{prefix}_labels"):
        mnist_files.check_file(files[role], role, data.MNIST_FILES[role].md5)
    if split == "training":
        return data.training_dataset(BATCH_SIZE, seed=1, files=files)
    return data.validation_dataset(files=files)


# --- Three ways to go through a dataset once; each returns the number of images -------------

def python_loop(dataset, split):
    """In Python, batch by batch, as a notebook looks at batches."""
    return sum(int(labels.shape[0]) for _, labels in dataset)


@tf.function
def _count(dataset):
    return dataset.reduce(0, lambda n, element: n + tf.shape(element[1])[0])


def in_graph(dataset, split):
    """Inside TensorFlow, with no Python step per batch."""
    return int(_count(dataset))


_models = {}


def through_keras(dataset, split):
    """As the notebooks use it: one epoch of `fit` (training) or `evaluate` (validation),
    with a one-layer model so that the reader's cost shows."""
    key = (tuple(dataset.element_spec[0].shape[1:]), split)
    if key not in _models:
        _models[key] = keras.Sequential([keras.Input(key[0]), keras.layers.Flatten(),
                                         keras.layers.Dense(10, activation="softmax")])
        _models[key].compile(optimizer="sgd", loss="categorical_crossentropy")
    counter = _ImagesSeen()
    if split == "training":
        _models[key].fit(dataset, epochs=1, verbose=0, callbacks=[counter])
    else:
        _models[key].evaluate(dataset, verbose=0, callbacks=[counter])
    return counter.batches * int(dataset.element_spec[0].shape[0])


class _ImagesSeen(keras.callbacks.Callback):
    batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1

    on_test_batch_end = on_train_batch_end


def images_per_second(make_dataset, split, go_through, repeats):
    """Median images/s of a first pass through a freshly made dataset (cold) and of a second
    pass through the same dataset (cached)."""
    go_through(make_dataset().take(1), split)  # traces the functions (untimed)
    cold, cached = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        dataset = make_dataset()
        n = go_through(dataset, split)
        cold.append(n / (time.perf_counter() - start))
        start = time.perf_counter()
        m = go_through(dataset, split)
        cached.append(m / (time.perf_counter() - start))
        if not n == m == IMAGES[split]:
            raise AssertionError(f"{split}: {n} and {m} images, expected {IMAGES[split]}")
    return {"cold": statistics.median(cold), "cached": statistics.median(cached)}


def reading_speeds(files, repeats):
    speeds = {}
    for split in ("training", "validation"):
        for way in (python_loop, in_graph, through_keras):
            baseline = images_per_second(lambda: original(files, split), split, way, repeats)
            mine = images_per_second(lambda: ours(files, split), split, way, repeats)
            speeds[f"{split}, {way.__name__.replace('_', ' ')}"] = {
                "baseline": baseline, "ours": mine,
                "ratio": {kind: mine[kind] / baseline[kind] for kind in ("cold", "cached")}}
            print(split, way.__name__, {k: f"{v:.1f}x" for k, v in
                                         speeds[f"{split}, {way.__name__.replace('_', ' ')}"]["ratio"].items()},
                  flush=True)
    return speeds


def device_name():
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        return platform.processor() or "CPU"


# --- Report --------------------------------------------------------------------------------

def markdown(r):
    lines = [f"# Input pipeline benchmark ({r['date']})", "",
             f"TensorFlow {r['tensorflow']}, Keras {r['keras']}, {r['cpu_count']} CPUs "
             f"({r['device']}), load average {r['load_average']:.1f} when it started. "
             f"Medians of {r['repeats']} runs. Images per second:", "",
             "| digits, gone through with | pass | original (per record, batched) | "
             "ours (whole files) | ours ÷ original |", "|---|---|---|---|---|"]
    for name, speeds in r["reading"].items():
        for kind in ("cold", "cached"):
            lines.append(f"| {name} | {kind} | {speeds['baseline'][kind]:,.0f} | "
                         f"{speeds['ours'][kind]:,.0f} | {speeds['ratio'][kind]:.1f}x |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="folder with the four MNIST files "
                        "(default: MNIST_DATA_DIR, else the Keras cache or a download)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each test")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    results = {"date": datetime.datetime.now().isoformat(timespec="seconds"),
               **versions("tensorflow", "keras"),
               "cpu_count": os.cpu_count(), "device": device_name(),
               "load_average": os.getloadavg()[0], "repeats": args.repeats,
               "batch_size": BATCH_SIZE}
    files = data.mnist_files(args.data_dir)  # found once here; ours checks them again, timed
    results["files"] = files
    results["reading"] = reading_speeds(files, args.repeats)
    report = markdown(results)
    print(report)
    write_results("input_pipeline", results, report, folder=args.out)


if __name__ == "__main__":
    main()
