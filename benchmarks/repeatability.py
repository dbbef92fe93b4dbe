"""How close two runs of a notebook with the same seed come (on this machine).

    python benchmarks/repeatability.py            # notebook 01, seed 1, twice
    python benchmarks/repeatability.py --notebook 02 --seed 3

Runs the notebook twice exactly as benchmarks/accuracy.py does and compares the validation
accuracy and loss after every epoch. Writes benchmarks/results/repeatability.json and .md.
"""
import argparse
import os
from datetime import date

from _plumbing import command, machine, write_results
from accuracy import notebook_paths, run_notebook


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notebook", default="01")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    os.environ.setdefault("MNIST_LIVE_PLOT", "0")
    path = next(p for p in notebook_paths() if p.name.startswith(args.notebook))
    first, second = (run_notebook(path, args.seed, timeout=3600) for _ in range(2))
    accuracy_gap = max(abs(a - b) for a, b in zip(first["val_accuracy"], second["val_accuracy"]))
    loss_gap = max(abs(a - b) for a, b in zip(first["val_loss"], second["val_loss"]))
    result = {"date": date.today().isoformat(), "notebook": path.name, "seed": args.seed,
              "machine": machine(), "device": first["device"], "versions": first["versions"],
              "command": command(__file__, argv),
              "final_accuracies": [first["val_accuracy"][-1], second["val_accuracy"][-1]],
              "wrong": [first["wrong"], second["wrong"]],
              "largest_accuracy_gap": accuracy_gap, "largest_loss_gap": loss_gap}
    text = (f"{path.name}, seed {args.seed}, run twice: final validation accuracy "
            f"{first['val_accuracy'][-1]:.2%} and {second['val_accuracy'][-1]:.2%} "
            f"({first['wrong']} and {second['wrong']} digits wrong); largest difference over the "
            f"{len(first['val_accuracy'])} epochs: {accuracy_gap:.2%} in accuracy, "
            f"{loss_gap:.4f} in loss.")
    write_results("repeatability", result, text)
    print(text)


if __name__ == "__main__":
    main()
