"""Write the pictures of docs/images from the outputs of executed notebooks.

    python tools/build_site.py && python tools/notebook_images.py --from _site/_sources
    python tools/notebook_images.py                 # runs the five notebooks itself first
    python tools/notebook_images.py --from DIR 05   # only notebook 05's pictures

Each picture is an image output of one notebook cell, exactly what a learner sees under that
cell, from the model the notebook trained: PICTURES below names the notebook, the cell (by its
id) and which of the cell's image outputs. Nothing is drawn again here.

--from FOLDER reads executed notebooks named as in notebooks/ (NN_name.ipynb), e.g. the ones
the full-length site build keeps in _site/_sources/. Without it, the notebooks run here first,
top to bottom at full length, each in a fresh kernel (tools/notebook_code.py, with the same
progress in the terminal as tools/run_all.py); --keep FOLDER saves them.

Notebooks trained with Keras' KERAS_MAX_EPOCHS / KERAS_MAX_STEPS_PER_EPOCH caps (as the tests
run them) are refused: each `fit` must have printed all the epochs the notebook asks for
("Epoch N/N" with N = its EPOCHS) and whole epochs of steps. --allow-short accepts them (for
tests; without --from it also keeps the caps set in the environment). A table entry whose
notebook, cell or image is missing is an error naming them. Either way the command exits with
status 2 and writes nothing. Each picture is written to a temporary file and renamed into
place, so a stopped run never leaves half a file.
"""
import argparse
import base64
import os
import re
import sys
from pathlib import Path
from typing import NamedTuple

import nbformat

from mnist_utils.files import write_atomically
from notebook_code import ANSI_COLOUR, CAPS, EPOCH, STEP, Progress, execute

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
IMAGES = ROOT / "docs" / "images"
TRAINING_DIGITS = 60_000   # MNIST's training set: one epoch's steps × batch size covers it
PNG = "image/png"
DRAWS = re.compile(r"mnist_utils\.(show_\w+|plot_\w+|LivePlot)\(")  # what a picture cell calls


class Picture(NamedTuple):
    notebook: str   # its file in notebooks/
    cell: str       # the cell's id
    image: int      # which image output of the cell: 0 the first, -1 the last
    what: str       # what it shows


# Every picture of docs/images that a notebook cell draws (not the jupyterlab_*.png screenshots
# of tests/test_browser.py, nor the site_*.png of tests/test_site.py). A live plot's last image
# is the finished figure (in Jupyter the live frame above it is emptied when training ends).
PICTURES = {
    "01_logits_softmax": Picture("01_softmax.ipynb", "insides2", 0,
                                 "one validation digit's logits and softmax probabilities"),
    "01_weight_templates": Picture("01_softmax.ipynb", "insides4", 0,
                                   "the layer's ten weight columns as 28×28 templates"),
    "02_sigmoid_stalls": Picture("02_dense_layers.ipynb", "5a17fe22", -1,
                                 "the sigmoid network's live plot, with the spread of its weights"),
    "02_activation_slopes_sigmoid": Picture("02_dense_layers.ipynb", "insides1", 0,
                                            "the sigmoid network's activations and their slopes"),
    "03_decay_overfitting": Picture("03_decay_and_dropout.ipynb", "b45ec994", -1,
                                    "the live plot of the run with learning-rate decay"),
    "03_shifted_digit_dense": Picture("03_decay_and_dropout.ipynb", "insides2", 0,
                                      "a digit shifted by two pixels, read by the dense network"),
    "04_shifted_digit_conv": Picture("04_convolutions.ipynb", "insides2", 0,
                                     "the same shifted digit, read by the convolutional network"),
    "04_convolution_step": Picture("04_convolutions.ipynb", "insides5", 0,
                                   "one value of one feature map, computed step by step"),
    "04_filters": Picture("04_convolutions.ipynb", "insides4", 0,
                          "the first layer's six filters and their feature maps"),
    "05_live_plot": Picture("05_batch_norm.ipynb", "dfb39986", -1,
                            "the live plot at the end of training"),
    "05_font_digits": Picture("05_batch_norm.ipynb", "a5bfdf7c", 0,
                              "digits typed in Matplotlib's fonts, as the model reads them"),
    "05_mistakes": Picture("05_batch_norm.ipynb", "a85220b6", 0,
                           "the validation digits it gets wrong, most confident first"),
    "05_filters": Picture("05_batch_norm.ipynb", "insides2", 0,
                          "the first layer's filters and their feature maps"),
    "05_batch_norm": Picture("05_batch_norm.ipynb", "insides4", 0,
                             "the second layer's values before and after batch normalisation"),
}


class Refused(Exception):
    """Why no picture can be written: said to the user, with exit status 2 (1: a notebook
    failed while it ran here)."""

    def __init__(self, message, status=2):
        super().__init__(message)
        self.status = status


# Reading the executed notebooks.
def cells_by_id(nb):
    return {cell.get("id"): cell for cell in nb.cells}


def image_outputs(cell):
    return [output for output in cell.get("outputs", []) if PNG in output.get("data", {})]


def png_of(nb, name, picture):
    """The PNG bytes of the picture's image output in the executed notebook `nb`."""
    cell = cells_by_id(nb).get(picture.cell)
    if cell is None or cell.cell_type != "code":
        raise Refused(f"{name}.png: {picture.notebook} has no code cell with id "
                      f"{picture.cell!r} (has the notebook changed? update PICTURES in "
                      f"tools/notebook_images.py)")
    images = image_outputs(cell)
    if not images:
        raise Refused(f"{name}.png: cell {picture.cell!r} of {picture.notebook} has no image "
                      "output (was it executed, and did it draw?)")
    if not -len(images) <= picture.image < len(images):
        raise Refused(f"{name}.png: cell {picture.cell!r} of {picture.notebook} has "
                      f"{len(images)} image output(s), not image {picture.image}")
    data = images[picture.image]["data"][PNG]
    png = base64.b64decode("".join(data) if isinstance(data, list) else data)
    if not png.startswith(b"\x89PNG\r\n\x1a\n"):
        raise Refused(f"{name}.png: the image output of cell {picture.cell!r} of "
                      f"{picture.notebook} is not a PNG")
    return png


FIT_EPOCHS = re.compile(r"\.fit\((?:[^()]|\([^()]*\))*?\bepochs\s*=\s*(\w+)", re.S)
BATCH = re.compile(r"batch_images: \((\d+),")            # what the Data cell prints


def printed(cell):
    return ANSI_COLOUR.sub("", "".join(output.get("text", "") for output in cell.get("outputs", [])
                                if output.get("output_type") == "stream"))


def short_training(nb):
    """Why the notebook was not trained at full length, as a list of reasons (empty: it was).

    Each cell that calls `fit(..., epochs=X)` must have printed "Epoch X/X" (X read from the
    notebook's own `X = <number>` line above it), and each epoch must have gone through the
    60,000 training digits: its last step count × the batch size the Data cell printed.
    Keras' KERAS_MAX_EPOCHS and KERAS_MAX_STEPS_PER_EPOCH caps break one or the other.
    """
    reasons, values, batch = [], {}, None
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        text = printed(cell)
        batch = batch or next((int(b) for b in BATCH.findall(text)), None)
        asked = FIT_EPOCHS.search(cell.source)
        if asked:
            word = asked.group(1)
            epochs = int(word) if word.isdigit() else values.get(word)
            done = [(int(k), int(n)) for k, n in EPOCH.findall(text)]
            if not done:
                reasons.append(f"cell {cell.get('id')!r} printed no 'Epoch k/N' line")
            elif epochs is not None and done[-1] != (epochs, epochs):
                reasons.append(f"cell {cell.get('id')!r} trained {done[-1][0]} epoch(s) of "
                               f"{done[-1][1]} ('Epoch {done[-1][0]}/{done[-1][1]}'), "
                               f"the notebook asks for {word} = {epochs}")
            steps = [int(n) for _, n in STEP.findall(text)]
            if batch and steps and min(steps) * batch <= TRAINING_DIGITS - batch:
                reasons.append(f"cell {cell.get('id')!r} trained epochs of {min(steps)} steps "
                               f"of {batch} digits, not all {TRAINING_DIGITS:,}")
        for name, value in re.findall(r"^([A-Z_]+) = (\d+)\b", cell.source, re.M):
            values[name] = int(value)
    return reasons


# The command.
def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", metavar="NN",
                        help="only these notebooks' pictures, e.g. 01 05 (default: all)")
    parser.add_argument("--from", dest="source", type=Path, metavar="FOLDER",
                        help="executed notebooks (e.g. _site/_sources after "
                             "python tools/build_site.py); without it they run here first")
    parser.add_argument("--out", type=Path, default=IMAGES,
                        help="folder for the pictures (default: docs/images)")
    parser.add_argument("--allow-short", action="store_true",
                        help="accept notebooks trained with Keras' caps (for tests)")
    parser.add_argument("--keep", type=Path, metavar="FOLDER",
                        help="without --from: save the executed notebooks there")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds allowed per cell")
    args = parser.parse_args(argv)
    names = sorted({picture.notebook for picture in PICTURES.values()})
    for wanted in args.notebooks:
        if not any(name.startswith(wanted) for name in names):
            parser.error(f"no notebook {wanted!r} has pictures; choose from "
                         f"{', '.join(name[:2] for name in names)}")
    args.names = [name for name in names
                  if not args.notebooks or any(name.startswith(w) for w in args.notebooks)]
    if args.source and not args.source.is_dir():
        parser.error(f"--from {args.source}: no such folder")
    if args.source and args.keep:
        parser.error("--keep saves notebooks executed here: it goes without --from")
    for folder, option in ((args.out, "--out"), (args.keep, "--keep")):
        if folder and (folder.exists() and not folder.is_dir() or not folder.parent.is_dir()):
            parser.error(f"{option} {folder}: must be a folder, or one that can be made in an "
                         "existing folder")
    return args


def executed_notebooks(args):
    """{notebook name: executed notebook}, read from --from or executed here."""
    if args.source:
        missing = [name for name in args.names if not (args.source / name).is_file()]
        if missing:
            raise Refused(f"--from {args.source} has no {', '.join(missing)}")
        return {name: nbformat.read(args.source / name, as_version=4) for name in args.names}

    if not args.allow_short:
        for cap in CAPS:  # the kernels inherit the environment: full length
            os.environ.pop(cap, None)
    os.environ.setdefault("MNIST_LIVE_PLOT", "0")  # nobody watches: draw the final figure once
    progress, executed = Progress(total=len(args.names)), {}
    for name in args.names:
        run = execute(NOTEBOOKS / name, args.timeout, progress)
        if run.error:
            progress.finish(f"{name}: FAILED")
            raise Refused(f"{name} stopped at {run.failed_cell}: {run.error}", status=1)
        accuracy, _ = run.accuracy
        progress.finish(f"{name}: {accuracy or 'no accuracy'}, {run.seconds:.0f} s")
        executed[name] = run.nb
        if args.keep:
            args.keep.mkdir(exist_ok=True)
            nbformat.write(run.nb, args.keep / name)
    return executed


def stale_cells(executed, name):
    """Ids of code cells whose source differs from today's notebooks/ (a build of older code)."""
    today = cells_by_id(nbformat.read(NOTEBOOKS / name, as_version=4))
    return [key for key, cell in cells_by_id(executed).items() if cell.cell_type == "code"
            and (key not in today or today[key].source != cell.source)]


def main(argv=None):
    args = parse_args(argv)
    try:
        executed = executed_notebooks(args)
        short = {name: short_training(nb) for name, nb in executed.items()}
        short = {name: reasons for name, reasons in short.items() if reasons}
        if short and not args.allow_short:
            raise Refused("not trained at full length (Keras' KERAS_MAX_EPOCHS or "
                          "KERAS_MAX_STEPS_PER_EPOCH caps?), so no picture was written:\n"
                          + "\n".join(f"  {name}: {'; '.join(reasons)}"
                                      for name, reasons in short.items())
                          + "\nRun them at full length (python tools/build_site.py, without "
                            "--short), or pass --allow-short (for tests).")
        pngs = {name: png_of(executed[picture.notebook], name, picture)
                for name, picture in PICTURES.items() if picture.notebook in executed}
    except Refused as refused:
        print(f"notebook_images.py: {refused}", file=sys.stderr)
        return refused.status
    for name, nb in executed.items():
        stale = stale_cells(nb, name)
        if stale:
            print(f"Note: {name} was executed from code that differs from notebooks/{name} "
                  f"(cells {', '.join(map(str, stale))}).", file=sys.stderr)
    args.out.mkdir(exist_ok=True)
    for name, png in pngs.items():
        with write_atomically(args.out / f"{name}.png") as file:
            file.write(png)
        picture = PICTURES[name]
        print(f"{args.out / name}.png  ({picture.notebook}, cell {picture.cell}: {picture.what})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
