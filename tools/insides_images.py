"""Draw the pictures of the model's insides (mnist_utils.insides) for docs/images.

Each notebook's own code runs here, from the top to its Predictions section (Setup, Parameters,
Data, Model and Training, unchanged), so the pictures come from the model the notebook
trains; only the number of epochs may be capped, with Keras' KERAS_MAX_EPOCHS, to spare a
machine without a GPU. Then the notebook's pictures are drawn from that model and the first
validation digits, and written to docs/images/NN_*.png.

    python tools/insides_images.py 01 02          # the notebooks' own EPOCHS
    python tools/insides_images.py 04 05 --epochs 3 --keep /tmp/models   # reuse them later
"""
import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"

# What each notebook shows, as (file name, function name, model variable, what it reads).
PICTURES = {
    "01": [("01_logits_softmax", "show_logits", "model", "labelled digit"),
           ("01_weight_templates", "show_weight_templates", "model", None)],
    "02": [("02_activation_slopes_sigmoid", "show_activation_slopes", "sigmoid_model", "batch"),
           ("02_activation_slopes_relu", "show_activation_slopes", "model", "batch")],
    "03": [("03_shifted_digit_dense", "show_shifted_digit", "model", "shifted digit")],
    "04": [("04_shifted_digit_conv", "show_shifted_digit", "model", "shifted digit"),
           ("04_filters", "show_filters", "model", "digit"),
           ("04_convolution_step", "show_convolution", "model", "digit")],
    "05": [("05_filters", "show_filters", "model", "digit"),
           ("05_batch_norm", "show_batch_norm", "model", "batch")],
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", choices=sorted(PICTURES))
    parser.add_argument("--epochs", type=int, help="at most this many epochs per fit")
    parser.add_argument("--digit", type=int, default=0, help="which validation digit to show")
    parser.add_argument("--shifted", type=int, default=2,
                        help="which validation digit to shift (default: a 1 that the dense "
                             "network of notebook 03 misreads when shifted)")
    parser.add_argument("--batch", type=int, default=500, help="validation digits for batches")
    parser.add_argument("--accuracy-on", type=int, default=1000,
                        help="validation digits for the accuracy on shifted digits")
    parser.add_argument("--keep", type=Path, help="a folder: save the trained models there, "
                        "and read them from there instead of training when they exist")
    args = parser.parse_args()
    os.environ["MNIST_LIVE_PLOT"] = "0"          # a script: the live plot draws once, unshown
    os.environ.pop("KERAS_MAX_STEPS_PER_EPOCH", None)
    if args.epochs:
        os.environ["KERAS_MAX_EPOCHS"] = str(args.epochs)
    sys.path.insert(0, str(ROOT / "tools"))
    from notebook_code import code_until, load, notebook_paths

    for number in args.notebooks:
        path = next(p for p in notebook_paths() if p.name.startswith(number))
        names = sorted({model for _, _, model, _ in PICTURES[number]})
        saved = {name: args.keep / f"{number}_{name}.keras" for name in names} if args.keep \
            else {}
        if saved and all(file.exists() for file in saved.values()):
            import keras
            variables = {name: keras.saving.load_model(file) for name, file in saved.items()}
            print(f"{path.name}: models read from {args.keep}", flush=True)
        else:
            started = time.monotonic()
            variables = {"__name__": "__notebook__"}
            exec(compile(code_until(load(path), "Predictions"), str(path), "exec"), variables)
            print(f"{path.name}: trained in {time.monotonic() - started:.0f} s "
                  f"(epochs capped at {args.epochs or 'the notebook’s EPOCHS'})", flush=True)
            for name, file in saved.items():
                variables[name].save(file)
        draw(number, variables, args)


def draw(number, variables, args):
    import mnist_utils

    images, labels = mnist_utils.load_digits(
        max(args.batch, args.accuracy_on, args.digit + 1, args.shifted + 1))
    for name, function, model, reads in PICTURES[number]:
        call = getattr(mnist_utils, function)
        started = time.monotonic()
        if reads == "shifted digit":
            fig = call(variables[model], images[args.shifted], label=labels[args.shifted],
                       digits=(images[:args.accuracy_on], labels[:args.accuracy_on]))
        elif reads == "labelled digit":
            fig = call(variables[model], images[args.digit], label=labels[args.digit])
        elif reads == "digit":
            fig = call(variables[model], images[args.digit])
        elif reads == "batch":
            fig = call(variables[model], images[:args.batch])
        else:
            fig = call(variables[model])
        took = time.monotonic() - started
        fig.savefig(IMAGES / f"{name}.png", dpi=100)
        print(f"  docs/images/{name}.png ({function}: {took:.2f} s)", flush=True)


if __name__ == "__main__":
    main()
