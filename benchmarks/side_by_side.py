"""Our five notebooks next to the original codelab's, trained in one run on the same machine.

For each notebook and seed, trains the original's model as its notebook did (benchmarks/codelab.py:
its reader, batch size, schedule, 10 epochs) and ours as our notebook does (its own cells, with
only `SEED = ...` changed), and records both final validation accuracies and both training
times. Training time: from building the datasets to the end of `model.fit` (for ours the Data
section's first cell, which reads and checks the files, plus the Training cell; the live plot
draws once at the end, as it does outside a notebook; the original's plot callback is left out).
The two alternate in ABBA order over the seeds (original first for the first seed, ours first for
the second, ...), so neither always runs on a warmer or cooler machine.

    python benchmarks/side_by_side.py                       # all five, seeds 1 2 3
    python benchmarks/side_by_side.py --notebooks 05 --seeds 1 2 3
    python benchmarks/side_by_side.py --notebooks 05 --seeds 1 2 3 --add   # a second run, kept with the first

Times on a shared machine drift from run to run; --add keeps a notebook's earlier pairs (from the
same code: use it only when neither model changed) and the table summarises all of them.

Writes benchmarks/results/side_by_side.json and side_by_side.md (merging with earlier results
for other notebooks).
"""
import argparse
import os
import statistics
from datetime import date, datetime

from _plumbing import command, machine, read_results, versions, write_results
from notebook_code import load, notebook_paths, run_until, with_seed

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def train_ours(path, seed):
    """Run the notebook's cells up to Predictions; return (final val accuracy, training seconds)."""
    timed = []

    def time_training(code, seconds):
        if "training_dataset(" in code or code.lstrip().startswith("history = model.fit("):
            timed.append(seconds)

    namespace = run_until(with_seed(load(path), seed), "Predictions", path.name, time_training)
    return namespace["history"].history["val_accuracy"][-1], sum(timed)


def train_original(notebook, seed):
    import codelab
    import mnist_utils

    files = mnist_utils.mnist_files()
    history, seconds = codelab.train(notebook, files, seed)
    return history.history["val_accuracy"][-1], seconds


def measure(path, seeds):
    notebook = path.name[:2]
    runs = []
    for i, seed in enumerate(seeds):
        order = ("original", "ours") if i % 2 == 0 else ("ours", "original")
        run = {"seed": seed, "order": order}
        for who in order:
            acc, seconds = (train_original(notebook, seed) if who == "original"
                            else train_ours(path, seed))
            run[who] = {"val_accuracy": round(float(acc), 4), "seconds": round(seconds, 1)}
        run["time_ratio"] = round(run["ours"]["seconds"] / run["original"]["seconds"], 3)
        print(f"{path.name} seed {seed}: original {run['original']['val_accuracy']:.2%} in "
              f"{run['original']['seconds']:.0f} s, ours {run['ours']['val_accuracy']:.2%} in "
              f"{run['ours']['seconds']:.0f} s (ratio {run['time_ratio']:.2f})", flush=True)
        runs.append(run)
    return runs


def summary(runs):
    def stat(values, fmt):
        return f"{fmt(statistics.median(values))} ({fmt(min(values))}–{fmt(max(values))})"

    pct = "{:.2%}".format
    secs = "{:.0f}".format
    return (stat([r["original"]["val_accuracy"] for r in runs], pct),
            stat([r["ours"]["val_accuracy"] for r in runs], pct),
            stat([r["original"]["seconds"] for r in runs], secs),
            stat([r["ours"]["seconds"] for r in runs], secs),
            stat([r["time_ratio"] for r in runs], "{:.2f}".format))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notebooks", nargs="+", default=["01", "02", "03", "04", "05"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--add", action="store_true",
                        help="keep the notebooks' earlier pairs (same code only) next to the new ones")
    args = parser.parse_args(argv)
    results = read_results("side_by_side", {"notebooks": {}})
    results.update(date=date.today().isoformat(), command=command(__file__, argv),
                   versions=versions(), machine=machine())
    for path in notebook_paths():
        if path.name[:2] in args.notebooks:
            earlier = results["notebooks"].get(path.name, {}).get("runs", []) if args.add else []
            runs = [{**run, "run": datetime.now().isoformat(timespec="minutes")}
                    for run in measure(path, args.seeds)]
            results["notebooks"][path.name] = {
                "runs": earlier + runs, "command": command(__file__, argv),
                "date": date.today().isoformat()}
            # The table's command line: every notebook's, in order (some ran in later runs).
            results["command"] = "; ".join(dict.fromkeys(
                r["command"] for _, r in sorted(results["notebooks"].items())))
            write_results("side_by_side", results)
    lines = ["| notebook | original: accuracy | ours: accuracy | original: training s | "
             "ours: training s | time ours ÷ original | pairs (runs) |", "|---|---|---|---|---|---|---|"]
    for name, r in sorted(results["notebooks"].items()):
        sittings = len({run.get("run", r["date"]) for run in r["runs"]})
        lines.append(f"| {name} | " + " | ".join(summary(r["runs"])) +
                     f" | {len(r['runs'])} ({sittings}) |")
    write_results("side_by_side", markdown="\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
