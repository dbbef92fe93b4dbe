"""Run each notebook exactly as a learner would, with several seeds, and report its accuracy.

Every notebook is executed top to bottom in a fresh Jupyter kernel (tools/notebook_code.py) on the full data with
its default parameters; only the `SEED = ...` line of its Parameters cell changes between runs.
Afterwards one extra cell reads the final model's history from the kernel.

    python benchmarks/accuracy.py                      # all five notebooks, seeds 1 2 3
    python benchmarks/accuracy.py --notebooks 01 05 --seeds 1
    python benchmarks/accuracy.py --variants 05_no_dropout --seeds 1

A *variant* is a notebook with the change an exercise asks for (its lines replaced as the
solution shows, see VARIANTS); it is recorded under its own name in "variants", with the run the
exercise looks at (e.g. the sigmoid network's history in notebook 02).

Writes benchmarks/results/accuracy.json and accuracy.md (merging with earlier results, so the
notebooks can be measured in several sittings). Needs the MNIST files (MNIST_DATA_DIR or network).
"""
import argparse
import json
import os
import statistics
import sys
from datetime import date, datetime
from pathlib import Path

import nbformat
from _plumbing import command, machine, read_results, write_results
from notebook_code import (
    CAPS,
    Progress,
    cell_text,
    execute,
    load,
    notebook_paths,
    with_cells,
    with_changes,
    with_seed,
)

TARGETS = {"01": 0.915, "02": 0.975, "03": 0.980, "04": 0.990, "05": 0.995}
TARGET_MIN = {"05": 0.994}

# name: (notebook number, [(line in the notebook, line as the exercise's solution has it)],
#        the history the exercise reads). tests/test_notebook_text.py ties each to the text.
VARIANTS = {
    "01_batch_1024": ("01", [
        ("BATCH_SIZE = 128 ", "BATCH_SIZE = 1024 ")], "history"),
    "02_sigmoid_adam": ("02", [
        ("FIRST_EPOCHS = 3 ", "FIRST_EPOCHS = 10"),
        ("optimizer=keras.optimizers.SGD(learning_rate=FIRST_LEARNING_RATE)",
         "optimizer=keras.optimizers.Adam(learning_rate=LEARNING_RATE)")], "first_history"),
    "02_relu_sgd": ("02", [
        ("FIRST_EPOCHS = 3 ", "FIRST_EPOCHS = 10"),
        ('FIRST_ACTIVATION = "sigmoid"', 'FIRST_ACTIVATION = "relu"')],
        "first_history"),
    "02_adam_lr_0.01": ("02", [("LEARNING_RATE = 0.001  # Adam's",
                                "LEARNING_RATE = 0.01  # Adam's")], "history"),
    "02_one_hidden_layer": ("02", [(
        "        keras.layers.Dense(200, activation=activation),\n"
        "        keras.layers.Dense(100, activation=activation),\n"
        "        keras.layers.Dense(60, activation=activation),\n"
        "        keras.layers.Dense(30, activation=activation),\n",
        "        keras.layers.Dense(200, activation=activation),\n")], "history"),
    "04_fewer_filters": ("04", [(
        '        keras.layers.Conv2D(6, 3, padding="same", activation="relu"),              # 28×28×6\n'
        '        keras.layers.Conv2D(12, 6, strides=2, padding="same", activation="relu"),  # 14×14×12\n'
        '        keras.layers.Conv2D(24, 6, strides=2, padding="same", activation="relu"),  # 7×7×24\n',
        '        keras.layers.Conv2D(4, 3, padding="same", activation="relu"),\n'
        '        keras.layers.Conv2D(8, 6, strides=2, padding="same", activation="relu"),\n'
        '        keras.layers.Conv2D(12, 6, strides=2, padding="same", activation="relu"),\n')],
        "history"),
    "05_no_batch_norm": ("05", [
        ("def conv_bn_relu(filters, size, strides=1):\n"
         "    return [\n"
         '        keras.layers.Conv2D(filters, size, strides=strides, padding="same", use_bias=False),\n'
         "        keras.layers.BatchNormalization(scale=False),\n"
         '        keras.layers.Activation("relu"),\n'
         "    ]\n",
         "def conv_bn_relu(filters, size, strides=1):\n"
         '    return [keras.layers.Conv2D(filters, size, strides=strides, padding="same", '
         'activation="relu")]\n'),
        ("        keras.layers.Dense(200, use_bias=False),\n"
         "        keras.layers.BatchNormalization(scale=False),\n"
         '        keras.layers.Activation("relu"),\n',
         '        keras.layers.Dense(200, activation="relu"),\n')], "history"),
    "05_no_dropout": ("05", [("DROPOUT = 0.3 ", "DROPOUT = 0 ")], "history"),
    "05_epochs_16": ("05", [("EPOCHS = 8\n", "EPOCHS = 16\n")], "history"),
    # Not an exercise: the notebook as it is, recording its first run (the sigmoid that stalls).
    "02_sigmoid_stalls": ("02", [], "first_history"),
    # Not an exercise: 03 as it is, recording its decay run (the one without dropout).
    "03_decay_without_dropout": ("03", [], "decay_history"),
    # Not an exercise: 03 trained on a tenth of the training digits (the first 6,000), recording
    # its decay run: too little data overfits too (TensorFlow only: a tf.data pipeline).
    "03_tenth_of_the_digits": ("03", [(
        "training_data = mnist_utils.training_dataset(BATCH_SIZE, seed=SEED)\n",
        "import tensorflow as tf\n"
        "tenth = mnist_utils.load_digits(6_000, split=\"train\", one_hot=True)\n"
        "training_data = (tf.data.Dataset.from_tensor_slices(tenth).shuffle(6_000, seed=SEED)\n"
        "                 .batch(BATCH_SIZE, drop_remainder=True))\n")], "decay_history"),
}

# Appended to the notebook: what the final model did, read from the kernel's variables (the
# versions by _plumbing.versions, run in the kernel).
REPORT_CELL = """import json as _json, runpy as _runpy
print("@@RESULT@@" + _json.dumps({
    "val_accuracy": [float(a) for a in HISTORY.history["val_accuracy"]],
    "val_loss": [float(a) for a in HISTORY.history["val_loss"]],
    "wrong": int(wrong) if HISTORY is history else round(
        10_000 * (1 - HISTORY.history["val_accuracy"][-1])),  # another model's run: from its accuracy
    "device": accelerator.description,
    "versions": _runpy.run_path(PLUMBING)["versions"](),
}))""".replace("PLUMBING", repr(str(Path(__file__).with_name("_plumbing.py"))))


def _seconds(cell):
    timing = cell["metadata"].get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return None
    parse = lambda t: datetime.fromisoformat(t.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def run_notebook(path, seed, timeout, save_to=None, variant=None):
    """Execute one notebook with the given seed; return what its final model reached.

    save_to: a folder to keep the executed notebook in, outputs and figures included.
    variant: a name in VARIANTS: the notebook as that exercise changes it.
    """
    replacements, watched = (VARIANTS[variant][1:] if variant else ([], "history"))
    try:
        nb = with_changes(with_seed(load(path), seed), replacements)
    except ValueError as err:
        sys.exit(f"{err}: update VARIANTS in benchmarks/accuracy.py to the notebook's text")
    nb = with_cells(nb, REPORT_CELL.replace("HISTORY", watched))
    env_caps = [name for name in CAPS if name in os.environ]
    if env_caps:
        sys.exit(f"unset {', '.join(env_caps)}: the benchmark trains for real")
    progress = Progress()
    run = execute(path, timeout, progress, nb=nb)
    if run.error:
        sys.exit(f"{path.name} (seed {seed}) stopped at {run.failed_cell}: {run.error}")
    progress.finish(f"{variant or path.name}, seed {seed}: {run.seconds:.0f} s")
    nb, wall = run.nb, run.seconds
    if save_to:
        Path(save_to).mkdir(parents=True, exist_ok=True)
        stem = variant or path.stem
        nbformat.write(nb, Path(save_to) / f"{stem}_seed{seed}.ipynb")
    report = next(out["text"] for out in nb["cells"][-1]["outputs"] if out.get("name") == "stdout")
    result = json.loads(report.split("@@RESULT@@", 1)[1])
    fit_cell = next(c for c in nb["cells"] if c["cell_type"] == "code"
                    and cell_text(c).lstrip().startswith(f"{watched} = "))
    epochs = len(result["val_accuracy"])
    result.update(seed=seed, epochs=epochs, notebook_seconds=round(wall, 1),
                  seconds_per_epoch=round(_seconds(fit_cell) / epochs, 2))
    return result


def summarise(runs):
    final = [r["val_accuracy"][-1] for r in runs]
    best = [max(r["val_accuracy"]) for r in runs]
    return {
        "seeds": [r["seed"] for r in runs],
        "final_median": statistics.median(final), "final_min": min(final), "final_max": max(final),
        "best_median": statistics.median(best), "best_min": min(best), "best_max": max(best),
        "wrong_median": statistics.median(r["wrong"] for r in runs),
        "wrong_min": min(r["wrong"] for r in runs), "wrong_max": max(r["wrong"] for r in runs),
        "epochs": runs[0]["epochs"],
        "seconds_per_epoch": statistics.median(r["seconds_per_epoch"] for r in runs),
        "device": runs[0]["device"],
    }


def verdict(number, summary):
    ok = summary["final_median"] >= TARGETS[number]
    if number in TARGET_MIN:
        ok = ok and summary["final_min"] >= TARGET_MIN[number]
    return ok


def markdown(results):
    """The table, with a note naming the command and date of any row measured in another run."""
    lines = ["| notebook | final val. accuracy: median (min–max) | best epoch: median | "
             "wrong /10,000: median (min–max) | "
             "epochs | s/epoch | seeds | target | met |", "|---|---|---|---|---|---|---|---|---|"]
    for name, s in sorted(results["notebooks"].items()):
        number = name[:2]
        target = f"≥ {TARGETS[number]:.1%}" + (f", min ≥ {TARGET_MIN[number]:.1%}" if number in TARGET_MIN else "")
        lines.append(
            f"| {name} | {s['final_median']:.2%} ({s['final_min']:.2%}–{s['final_max']:.2%}) | "
            f"{s['best_median']:.2%} | {s['wrong_median']:g} ({s['wrong_min']}–{s['wrong_max']}) | {s['epochs']} | {s['seconds_per_epoch']:.1f} | "
            f"{len(s['seeds'])} | {target} | {'yes' if verdict(number, s) else 'NO'} |")
    runs = {}
    for name, s in sorted(results["notebooks"].items()):
        if (s.get("date"), s.get("command")) != (results.get("date"), results.get("command")):
            runs.setdefault((s.get("date"), s.get("command")), []).append(name[:2])
    if results.get("variants"):
        lines += ["", "Exercise variants (the notebook as an exercise changes it; see VARIANTS in "
                  "benchmarks/accuracy.py):", "",
                  "| variant | notebook | changes | final val. accuracy | wrong /10,000 | seeds | "
                  "measured with |", "|---|---|---|---|---|---|---|"]
        for name, v in sorted(results["variants"].items()):
            changes = "; ".join(f"`{line.strip()}`" for _, new in v["changes"]
                                for line in new.strip().splitlines()) or "none"  # one table row
            lines.append(f"| {name} | {v['notebook']} | {changes} | {v['final_median']:.2%} | "
                         f"{v['wrong_median']:g} | {', '.join(map(str, v['seeds']))} | "
                         f"`{v['command']}` ({v['date']}) |")
    if runs:
        lines += ["", "Measured in an earlier run: " + "; ".join(
            f"{', '.join(numbers)} on {day} with `{command}`" for (day, command), numbers in runs.items()) + "."]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notebooks", nargs="*", default=list(TARGETS), help="numbers, e.g. 01 05")
    parser.add_argument("--seeds", nargs="*", type=int, default=[1, 2, 3])
    parser.add_argument("--variants", nargs="*", default=[], choices=sorted(VARIANTS),
                        help="measure these exercise variants (instead of the notebooks)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    parser.add_argument("--save-executed", metavar="DIR", help="keep the executed notebooks there")
    args = parser.parse_args(argv)
    os.environ.setdefault("MNIST_LIVE_PLOT", "0")  # draw the live plot once, at the end

    results = read_results("accuracy", {"notebooks": {}, "runs": {}})
    if args.variants:
        return measure_variants(args, results, argv)
    for path in notebook_paths():
        if path.name[:2] not in args.notebooks:
            continue
        runs = []
        for seed in args.seeds:
            run = run_notebook(path, seed, args.timeout, args.save_executed)
            print(f"{path.name} seed {seed}: final {run['val_accuracy'][-1]:.2%}, best "
                  f"{max(run['val_accuracy']):.2%}, {run['wrong']} wrong, "
                  f"{run['seconds_per_epoch']:.1f} s/epoch. {run['device']}", flush=True)
            runs.append(run)
        results["runs"][path.name] = runs
        results["notebooks"][path.name] = {**summarise(runs), "date": date.today().isoformat(),
                                           "command": command(__file__, argv)}
        results.update(date=date.today().isoformat(), versions=runs[0]["versions"],
                       machine=machine(), command=command(__file__, argv))
        write_results("accuracy", results, markdown(results))
    print(markdown(results))


def measure_variants(args, results, argv):
    """Run each named exercise variant with each seed; record it under "variants"."""
    paths = {p.name[:2]: p for p in notebook_paths()}
    for name in args.variants:
        runs = []
        for seed in args.seeds:
            run = run_notebook(paths[VARIANTS[name][0]], seed, args.timeout, args.save_executed,
                               variant=name)
            print(f"{name} seed {seed}: final {run['val_accuracy'][-1]:.2%}, "
                  f"{run['wrong']} wrong.", flush=True)
            runs.append(run)
        results.setdefault("variants", {})[name] = {
            **summarise(runs), "runs": runs, "notebook": paths[VARIANTS[name][0]].name,
            "changes": VARIANTS[name][1], "date": date.today().isoformat(),
            "command": command(__file__, argv)}
        write_results("accuracy", results, markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
