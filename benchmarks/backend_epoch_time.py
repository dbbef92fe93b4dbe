"""Seconds per training epoch of every notebook on Keras' TensorFlow and JAX backends, side by
side on this machine.

Each run is a fresh process (benchmarks/backend_epoch_worker.py: Keras picks its backend once,
when it starts) that builds the notebook's model exactly as the notebook does (its code up to the Training section, so the same
data, model, optimizer and accelerator) and trains it with `model.fit` on the notebook's training
and validation data, as the notebook does. The first epoch (tracing, compiling) is not counted.
The two backends alternate in the order TensorFlow, JAX, JAX, TensorFlow (with --repeats 2), so
that both see the same machine state.

    python benchmarks/backend_epoch_time.py                  # all five, 3 epochs a run
    python benchmarks/backend_epoch_time.py --notebooks 01 02 --epochs 4 --repeats 2

Writes benchmarks/results/backend_epoch_time.json and .md.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
from datetime import date
from pathlib import Path

from _plumbing import ROOT, command, machine, read_results, write_results
from notebook_code import notebook_paths

WORKER = Path(__file__).with_name("backend_epoch_worker.py")
BACKENDS = ("tensorflow", "jax")


def run(path, backend, epochs):
    """One fresh process on `backend` (benchmarks/backend_epoch_worker.py); what it measured."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERAS_MAX_")}
    env.update(KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2", MNIST_LIVE_PLOT="0")
    done = subprocess.run([sys.executable, str(WORKER), str(path), str(epochs)], env=env,
                          cwd=ROOT, text=True, capture_output=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        sys.exit(f"{path.name} on {backend} failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notebooks", nargs="*", default=["01", "02", "03", "04", "05"])
    parser.add_argument("--epochs", type=int, default=3, help="per run; the first is not timed")
    parser.add_argument("--repeats", type=int, default=1,
                        help="pairs of runs per backend, in the order TF JAX JAX TF ...")
    args = parser.parse_args(argv)
    results = read_results("backend_epoch_time", {"notebooks": {}})  # other notebooks' rows stay
    results.update(date=date.today().isoformat(), machine=machine())
    for path in notebook_paths():
        if path.name[:2] not in args.notebooks:
            continue
        seconds = {backend: [] for backend in BACKENDS}
        for repeat in range(args.repeats):
            for backend in (BACKENDS if repeat % 2 == 0 else BACKENDS[::-1]):
                r = run(path, backend, args.epochs)
                seconds[backend] += r["seconds"]
                results.setdefault("backends", {})[backend] = r["versions"]
                results.setdefault("devices", {})[backend] = r["device"]
        row = {backend: {"median": round(statistics.median(s), 2), "min": round(min(s), 2),
                         "max": round(max(s), 2), "epochs_timed": len(s)}
               for backend, s in seconds.items()}
        row["jax_over_tensorflow"] = round(row["jax"]["median"] / row["tensorflow"]["median"], 2)
        results["notebooks"][path.name] = {**row, "command": command(__file__, argv)}
        print(f"{path.name}: TensorFlow {row['tensorflow']['median']:.2f} s/epoch, "
              f"JAX {row['jax']['median']:.2f} s/epoch", flush=True)
    results["command"] = "python benchmarks/backend_epoch_time.py"
    lines = [f"Seconds per epoch (training + validation) on the CPU ({results['machine']}): "
             f"median (min–max) of the epochs timed per backend; "
             f"{results['backends']['tensorflow']}; {results['backends']['jax']}.", "",
             "| notebook | TensorFlow | JAX | JAX / TensorFlow | epochs timed per backend | command |",
             "|---|---|---|---|---|---|"]
    for name, row in sorted(results["notebooks"].items()):
        cells = [f"{row[b]['median']:.2f} ({row[b]['min']:.2f}–{row[b]['max']:.2f})"
                 for b in BACKENDS]
        lines.append(f"| {name} | {cells[0]} | {cells[1]} | {row['jax_over_tensorflow']:.2f} | "
                     f"{row['tensorflow']['epochs_timed']} | `{row['command'].strip()}` |")
    write_results("backend_epoch_time", results, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
