"""Notebook 05's design space: accuracy against training time, for the choices the issue names.

Each configuration is notebook 05's model (convolutions without bias + batch norm + ReLU, a
dense layer with batch norm, ReLU and dropout, softmax), with its filters, kernel sizes,
strides, dense width, dropout, batch size, epochs and learning-rate schedule changed, trained
as the notebook trains it (mnist_utils' datasets, Adam, rate × decay^epoch) on the full data.
Reports the final validation accuracy and the training seconds (from building the datasets to
the end of `model.fit`, all epochs), per seed. With --original, each seed also trains the
original codelab's notebook-05 model as its notebook did (benchmarks/codelab.py), in the same run,
first for the first seed and last for the next (ABBA), and each configuration's time is also
given as a ratio to it: times of different runs on a shared machine are not comparable.

    python benchmarks/frontier.py --configs mid mid-small-kernels --seeds 1 2 3
    python benchmarks/frontier.py --configs original-size mid-small-kernels mid --seeds 1 --original

Results are added to benchmarks/results/frontier.json (one record per configuration and seed,
replacing an earlier record of the same pair) and summarised in frontier.md.
"""
import argparse
import os
import statistics
import time
from datetime import date, datetime

from _plumbing import command, machine, read_results, versions, write_results

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# convs: (filters, kernel size, stride) for each convolution.
BASE = dict(convs=[(24, 6, 1), (48, 5, 2), (64, 4, 2)], dense=200, dropout=0.3, batch=128,
            rate=0.01, decay=0.6, epochs=10, conv_dropout=0.0, label_smoothing=0.0,
            schedule="exponential", warmup=0.0, first_norm=True)
# schedule "exponential": rate × decay^epoch, set at the start of each epoch (notebooks 03-05);
# "cosine": from rate down to 0 along a half cosine, step by step, after a linear warm-up from
# rate/10 over the first `warmup` share of the steps (a one-cycle schedule).
CONFIGS = {
    "notebook": {},  # notebook 05 before this study
    "original-size": dict(convs=[(12, 3, 1), (24, 6, 2), (32, 6, 2)], decay=0.666),
    "original-size-b64": dict(convs=[(12, 3, 1), (24, 6, 2), (32, 6, 2)], decay=0.666, batch=64),
    "mid": dict(convs=[(16, 5, 1), (32, 5, 2), (64, 4, 2)]),
    "mid-d5": dict(convs=[(16, 5, 1), (32, 5, 2), (64, 4, 2)], dropout=0.5),
    "mid-cd": dict(convs=[(16, 5, 1), (32, 5, 2), (64, 4, 2)], conv_dropout=0.25),
    "mid-ls": dict(convs=[(16, 5, 1), (32, 5, 2), (64, 4, 2)], label_smoothing=0.1),
    "mid-b256": dict(convs=[(16, 5, 1), (32, 5, 2), (64, 4, 2)], batch=256, rate=0.02),
    "mid-12ep": dict(convs=[(16, 5, 1), (32, 5, 2), (64, 4, 2)], epochs=12, decay=0.65),
    "mid-small-kernels": dict(convs=[(16, 3, 1), (32, 4, 2), (64, 4, 2)]),
    "mid-8ep": dict(convs=[(16, 5, 1), (32, 5, 2), (64, 4, 2)], epochs=8, decay=0.5),
    "mid-7ep": dict(convs=[(16, 5, 1), (32, 5, 2), (64, 4, 2)], epochs=7, decay=0.45),
    "mid-c48": dict(convs=[(16, 5, 1), (32, 5, 2), (48, 4, 2)]),
    "mid-c48-9ep": dict(convs=[(16, 5, 1), (32, 5, 2), (48, 4, 2)], epochs=9, decay=0.57),
    "mid-7ep-ls": dict(convs=[(16, 5, 1), (32, 5, 2), (64, 4, 2)], epochs=7, decay=0.45,
                       label_smoothing=0.1),
    "mid-8ep-ls": dict(convs=[(16, 5, 1), (32, 5, 2), (64, 4, 2)], epochs=8, decay=0.5,
                       label_smoothing=0.1),
    "mid-7ep-cosine": dict(convs=[(16, 5, 1), (32, 5, 2), (64, 4, 2)], epochs=7,
                           schedule="cosine"),
    "mid-7ep-onecycle": dict(convs=[(16, 5, 1), (32, 5, 2), (64, 4, 2)], epochs=7,
                             schedule="cosine", warmup=0.15, rate=0.02),
    "mid-8ep-onecycle": dict(convs=[(16, 5, 1), (32, 5, 2), (64, 4, 2)], epochs=8,
                             schedule="cosine", warmup=0.15, rate=0.02),
    "mid-7ep-onecycle-ls": dict(convs=[(16, 5, 1), (32, 5, 2), (64, 4, 2)], epochs=7,
                                schedule="cosine", warmup=0.15, rate=0.02, label_smoothing=0.1),
    # twice notebook 04's filters (6, 12, 24): a training step costs about 0.82 of mid's
    "double": dict(convs=[(12, 5, 1), (24, 5, 2), (48, 4, 2)]),
    "double-9ep": dict(convs=[(12, 5, 1), (24, 5, 2), (48, 4, 2)], epochs=9, decay=0.57),
    # no batch norm on the first convolution (its output, 28×28×16 per digit, is the largest)
    "mid-nobn1": dict(convs=[(16, 5, 1), (32, 5, 2), (64, 4, 2)], first_norm=False),
    "mid-nobn1-9ep": dict(convs=[(16, 5, 1), (32, 5, 2), (64, 4, 2)], first_norm=False, epochs=9,
                          decay=0.57),
    "mid-nobn1-8ep-onecycle": dict(convs=[(16, 5, 1), (32, 5, 2), (64, 4, 2)], first_norm=False,
                                   epochs=8, schedule="cosine", warmup=0.15, rate=0.02),
    "double-8ep-onecycle": dict(convs=[(12, 5, 1), (24, 5, 2), (48, 4, 2)], epochs=8,
                                schedule="cosine", warmup=0.15, rate=0.02),
}


ORIGINAL = "original 05 (codelab)"


def config(name):
    return {**BASE, **CONFIGS[name]}


def build(c):
    import keras

    layers = [keras.Input(shape=(28, 28, 1))]
    for i, (filters, size, stride) in enumerate(c["convs"]):
        if i == 0 and not c["first_norm"]:  # the first convolution: bias and ReLU, no batch norm
            layers.append(keras.layers.Conv2D(filters, size, strides=stride, padding="same",
                                              activation="relu"))
            continue
        layers += [keras.layers.Conv2D(filters, size, strides=stride, padding="same", use_bias=False),
                   keras.layers.BatchNormalization(scale=False), keras.layers.Activation("relu")]
    if c["conv_dropout"]:
        layers.append(keras.layers.Dropout(c["conv_dropout"]))
    layers += [keras.layers.Flatten(), keras.layers.Dense(c["dense"], use_bias=False),
               keras.layers.BatchNormalization(scale=False), keras.layers.Activation("relu"),
               keras.layers.Dropout(c["dropout"]), keras.layers.Dense(10, activation="softmax")]
    model = keras.Sequential(layers)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate(c)),
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=c["label_smoothing"]),
                  metrics=["accuracy"])
    return model


def learning_rate(c):
    """Adam's learning rate: a number (the exponential schedule sets it each epoch) or a schedule."""
    import keras

    if c["schedule"] == "exponential":
        return c["rate"]
    steps = 60_000 // c["batch"] * c["epochs"]
    warmup = int(steps * c["warmup"])
    if not warmup:
        return keras.optimizers.schedules.CosineDecay(c["rate"], steps)
    return keras.optimizers.schedules.CosineDecay(c["rate"] / 10, steps - warmup,
                                                  warmup_target=c["rate"], warmup_steps=warmup)


def train(c, seed):
    import keras
    import mnist_utils

    from mnist_utils import files

    keras.utils.set_random_seed(seed)
    model = build(c)
    schedule = keras.callbacks.LearningRateScheduler(lambda epoch: c["rate"] * c["decay"] ** epoch)
    callbacks = [schedule] if c["schedule"] == "exponential" else []
    files.clear_cache()  # read and check the files as a fresh notebook does, timed
    started = time.perf_counter()
    training = mnist_utils.training_dataset(c["batch"], seed=seed)
    validation = mnist_utils.validation_dataset()
    history = model.fit(training, shuffle=False, epochs=c["epochs"], validation_data=validation,
                        callbacks=callbacks, verbose=0)
    return outcome(history, time.perf_counter() - started)


def outcome(history, seconds):
    """What one training run is recorded by: its accuracy, its time and its model's size."""
    return {"val_accuracy": round(history.history["val_accuracy"][-1], 4),
            "best_val_accuracy": round(max(history.history["val_accuracy"]), 4),
            "fit_seconds": round(seconds, 1), "params": history.model.count_params(),
            "val_accuracy_by_epoch": [round(a, 4) for a in history.history["val_accuracy"]]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[1])
    parser.add_argument("--original", action="store_true",
                        help="also train the original's notebook-05 model in the same run, as a time reference")
    args = parser.parse_args(argv)
    import keras

    results = read_results("frontier", {"runs": []})
    results.update(date=date.today().isoformat(), command=command(__file__, argv),
                   versions=versions(), machine=machine())
    run = datetime.now().isoformat(timespec="seconds")
    for i, seed in enumerate(args.seeds):
        names = list(args.configs)
        if args.original:
            names = [ORIGINAL] + names if i % 2 == 0 else names + [ORIGINAL]
        for name in names:
            trained = train_original(seed) if name == ORIGINAL else train(config(name), seed)
            r = {"config": name, "seed": seed, "run": run, "command": results["command"], **trained,
                 "settings": config(name) if name != ORIGINAL else "benchmarks/codelab.py model_05",
                 "date": date.today().isoformat(),
                 "versions": f"Keras {results['versions']['keras']} on {keras.backend.backend()}",
                 "machine": machine()}
            earlier = read_results("frontier", {"runs": []})["runs"]  # as now on disk: runs may overlap
            results["runs"] = [x for x in earlier if (x["config"], x["seed"]) != (name, seed)] + [r]
            write_results("frontier", results)
            print(f"{name} seed {seed}: {r['val_accuracy']:.2%} in {r['fit_seconds']:.0f} s "
                  f"({r['params']:,} parameters)", flush=True)
    write_summary(results)


def train_original(seed):
    """The original codelab's notebook-05 model, reader and schedule (benchmarks/codelab.py)."""
    import codelab
    import mnist_utils

    return outcome(*codelab.train("05", mnist_utils.mnist_files(), seed))


def time_ratios(results, name):
    """Training time ÷ the original's, for each (run, seed) that trained both."""
    original = {(r.get("run"), r["seed"]): r["fit_seconds"] for r in results["runs"]
                if r["config"] == ORIGINAL}
    return [r["fit_seconds"] / original[r.get("run"), r["seed"]] for r in results["runs"]
            if r["config"] == name and (r.get("run"), r["seed"]) in original]


def describe(name):
    """A configuration in words: its convolutions, its batch, and what else differs from BASE."""
    if name == ORIGINAL:
        return "12 (3×3), 24 (6×6 /2), 32 (6×6 /2); batch 64; decay 0.666, its own reader"
    c = config(name)
    convs = ", ".join(f"{f} ({k}×{k}{' /2' if s == 2 else ''})" for f, k, s in c["convs"])
    other = [f"{key} {value}" for key, value in c.items()
             if key not in ("convs", "batch") and value != BASE[key]
             and not (key == "decay" and c["schedule"] != "exponential")]
    return f"{convs}; batch {c['batch']}" + (f"; {', '.join(other)}" if other else "")


def write_summary(results):
    # Records are added run by run: the table's command line is every run's, in order.
    results["command"] = "; ".join(dict.fromkeys(r["command"] for r in results["runs"]))
    lines = ["| configuration | convolutions: filters (kernel, stride 2 as /2); batch; other changes | "
             "seeds | validation accuracy, median (min–max) | "
             "training time ÷ the original 05's in the same run: median (min–max; seeds) | "
             "parameters | measured |", "|---|---|---|---|---|---|---|"]
    for name in [ORIGINAL, *CONFIGS]:
        runs = [r for r in results["runs"] if r["config"] == name]
        if runs:
            acc = [r["val_accuracy"] for r in runs]
            ratios = time_ratios(results, name) if name != ORIGINAL else []
            ratio = (f"{statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f}; "
                     f"{len(ratios)})" if ratios else "–")
            lines.append(f"| {name} | {describe(name)} | {len(runs)} | {statistics.median(acc):.2%} "
                         f"({min(acc):.2%}–{max(acc):.2%}) | {ratio} | "
                         f"{runs[0]['params']:,} | {', '.join(sorted({r['date'] for r in runs}))} |")
    write_results("frontier", results, markdown="\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
