"""Run each notebook exactly as a learner would, with several seeds, and report its accuracy.

Every notebook is executed top to bottom in a Jupyter kernel (nbclient) on the full data with
its default parameters; only the `SEED = ...` line of its Parameters cell changes between runs.
Afterwards one extra cell reads the final model's history from the kernel.

    python benchmarks/accuracy.py                      # all five notebooks, seeds 1 2 3
    python benchmarks/accuracy.py --notebooks 01 05 --seeds 1

Writes benchmarks/results/accuracy.json and accuracy.md (merging with earlier results, so the
notebooks can be measured in several sittings). Needs the MNIST files (MNIST_DATA_DIR or network).
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import date, datetime
from pathlib import Path

import nbclient
import nbformat

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT / "tools"))
from notebook_code import cell_text, load, notebook_paths, with_seed  # noqa: E402

TARGETS = {"01": 0.915, "02": 0.975, "03": 0.980, "04": 0.990, "05": 0.995}
TARGET_MIN = {"05": 0.994}

# Appended to the notebook: what the final model did, read from the kernel's variables.
REPORT_CELL = """import json as _json
print("@@RESULT@@" + _json.dumps({
    "val_accuracy": [float(a) for a in history.history["val_accuracy"]],
    "val_loss": [float(a) for a in history.history["val_loss"]],
    "wrong": int(wrong),
    "device": accelerator.description,
    "versions": {"keras": keras.__version__, keras.backend.backend():
                 __import__(keras.backend.backend()).__version__},
}))"""


def _seconds(cell):
    timing = cell["metadata"].get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return None
    parse = lambda t: datetime.fromisoformat(t.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def run_notebook(path, seed, timeout, save_to=None):
    """Execute one notebook with the given seed; return what its final model reached.

    save_to: a folder to keep the executed notebook in, outputs and figures included.
    """
    nb = nbformat.reads(json.dumps(with_seed(load(path), seed)), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(REPORT_CELL))
    env_caps = [name for name in ("KERAS_MAX_EPOCHS", "KERAS_MAX_STEPS_PER_EPOCH") if name in os.environ]
    if env_caps:
        sys.exit(f"unset {', '.join(env_caps)}: the benchmark trains for real")
    started = time.perf_counter()
    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    wall = time.perf_counter() - started
    if save_to:
        Path(save_to).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, Path(save_to) / f"{path.stem}_seed{seed}.ipynb")
    report = next(out["text"] for out in nb["cells"][-1]["outputs"] if out.get("name") == "stdout")
    result = json.loads(report.split("@@RESULT@@", 1)[1])
    fit_cell = next(c for c in nb["cells"] if c["cell_type"] == "code"
                    and cell_text(c).lstrip().startswith("history = model.fit("))
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
    if runs:
        lines += ["", "Measured in an earlier run: " + "; ".join(
            f"{', '.join(numbers)} on {day} with `{command}`" for (day, command), numbers in runs.items()) + "."]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", nargs="*", default=list(TARGETS), help="numbers, e.g. 01 05")
    parser.add_argument("--seeds", nargs="*", type=int, default=[1, 2, 3])
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    parser.add_argument("--save-executed", metavar="DIR", help="keep the executed notebooks there")
    args = parser.parse_args(argv)
    os.environ.setdefault("MNIST_LIVE_PLOT", "0")  # draw the live plot once, at the end

    out = RESULTS / "accuracy.json"
    results = json.loads(out.read_text()) if out.exists() else {"notebooks": {}, "runs": {}}
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
        command = "python benchmarks/accuracy.py " + " ".join(argv or sys.argv[1:])
        results["runs"][path.name] = runs
        results["notebooks"][path.name] = {**summarise(runs), "date": date.today().isoformat(),
                                           "command": command}
        results.update(date=date.today().isoformat(), versions=runs[0]["versions"],
                       machine=f"{platform.machine()}, {os.cpu_count()} CPU cores", command=command)
        RESULTS.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")
        (RESULTS / "accuracy.md").write_text(markdown(results) + "\n")
    print(markdown(results))


if __name__ == "__main__":
    main()
