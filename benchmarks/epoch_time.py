"""What the input pipeline costs in training time, for every notebook's model.

For each notebook, builds its model exactly as the notebook does (its Setup, Parameters, Data
and Model cells), then times training epochs twice: fed by `mnist_utils.training_dataset` (what
the notebook uses) and fed by the same 60,000 digits as in-memory arrays
(`model.fit(x, y, batch_size=..., shuffle=True)`). The ratio of the two epoch times is the
pipeline's cost; the target is at most 1.05. The first epoch of each run (tracing, warm-up) is
not counted. Each repeat is a pair of fresh runs, one per feed, and the pairs alternate which
feed goes first (ABBA order), so neither feed always meets a warmer machine; the ratio is given
as the median and range over the pairs. (The arrays
give 469 steps an epoch, the last one of 96 digits; our dataset 468 full batches.)

    python benchmarks/epoch_time.py                 # all five notebooks, 4 pairs of 3-epoch runs
    python benchmarks/epoch_time.py --notebooks 01 02 --epochs 4 --repeats 2

Writes benchmarks/results/epoch_time.json and epoch_time.md.
"""
import argparse
import statistics
import time
from datetime import date

from _plumbing import command, machine, read_results, versions, write_results
from notebook_code import load, notebook_paths, run_until

TARGET = 1.05


def build(path):
    """Run the notebook's code up to its Training section; return its variables."""
    return run_until(load(path), "Training", path.name)


def epoch_seconds(fit):
    """Seconds of each epoch that `fit(callbacks=...)` runs."""
    import keras

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.start)

    seconds = []
    fit(callbacks=[Timer()])
    return seconds


def measure(path, epochs, repeats):
    """Epoch times fed by our dataset (A) and by in-memory arrays (B), in the order A B B A A B
    B A ...: each repeat is one pair of fresh runs, the pairs alternate which feed goes first.
    The ratio of each pair is reported, as median and range over the pairs."""
    import mnist_utils

    x, y = mnist_utils.load_digits(split="train", one_hot=True)

    def run(feed):
        nb = build(path)
        if feed == "ours":
            fit = lambda callbacks: nb["model"].fit(  # noqa: E731
                nb["training_data"], shuffle=False, epochs=epochs, verbose=0, callbacks=callbacks)
        else:
            fit = lambda callbacks: nb["model"].fit(  # noqa: E731
                x, y, batch_size=nb["BATCH_SIZE"], shuffle=True, epochs=epochs, verbose=0,
                callbacks=callbacks)
        return statistics.median(epoch_seconds(fit)[1:]), nb

    ours, in_memory, ratios = [], [], []
    for i in range(repeats):
        order = ("ours", "in_memory") if i % 2 == 0 else ("in_memory", "ours")
        pair = {}
        for feed in order:
            pair[feed], nb = run(feed)
        ours.append(pair["ours"])
        in_memory.append(pair["in_memory"])
        ratios.append(pair["ours"] / pair["in_memory"])
    return {"tf_data_seconds": round(statistics.median(ours), 3),
            "in_memory_seconds": round(statistics.median(in_memory), 3),
            "ratio": round(statistics.median(ratios), 3),
            "ratio_min": round(min(ratios), 3), "ratio_max": round(max(ratios), 3),
            "pairs": repeats, "epochs_timed": epochs - 1, "device": nb["accelerator"].description}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notebooks", nargs="*", default=["01", "02", "03", "04", "05"])
    parser.add_argument("--epochs", type=int, default=3, help="per run; the first is not timed")
    parser.add_argument("--repeats", type=int, default=4, help="pairs of runs (ABBA order)")
    args = parser.parse_args(argv)
    results = read_results("epoch_time", {"notebooks": {}})  # other notebooks' rows are kept
    results.update(date=date.today().isoformat(), **versions("tensorflow"), target=TARGET,
                   machine=machine(), command=command(__file__, argv))
    for path in notebook_paths():
        if path.name[:2] in args.notebooks:
            r = measure(path, args.epochs, args.repeats)
            results["notebooks"][path.name] = r = {**r, "command": command(__file__, argv)}
            print(f"{path.name}: {r['tf_data_seconds']:.2f} s/epoch with tf.data, "
                  f"{r['in_memory_seconds']:.2f} s in memory, ratio {r['ratio']:.3f}", flush=True)
    lines = ["| notebook | s/epoch, mnist_utils tf.data | s/epoch, in-memory arrays | "
             "ratio: median (min–max) over pairs | ≤ 1.05 | pairs × epochs timed |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {name} | {r['tf_data_seconds']:.2f} | {r['in_memory_seconds']:.2f} | "
              f"{r['ratio']:.2f} ({r['ratio_min']:.2f}–{r['ratio_max']:.2f}) | "
              f"{'yes' if r['ratio'] <= TARGET else 'NO'} | {r['pairs']} × {r['epochs_timed']} |"
              for name, r in sorted(results["notebooks"].items())]
    write_results("epoch_time", results, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
