"""Run by benchmarks/backend_epoch_time.py in a fresh process, on the backend KERAS_BACKEND names.

    KERAS_BACKEND=jax python benchmarks/backend_epoch_worker.py NOTEBOOK.ipynb EPOCHS

Builds the notebook's model as the notebook does (epoch_time.build: its code up to the Training
section), trains it with `model.fit` for EPOCHS epochs on the notebook's training and
validation data, and prints RESULT {json} as its last line: the seconds of each epoch but the
first, the versions and device that ran, and the final validation accuracy.
"""
import json
import sys
from pathlib import Path

from epoch_time import build, epoch_seconds  # the same build and timer as epoch_time.py


def main(path, epochs):
    nb = build(Path(path))
    histories = []
    seconds = epoch_seconds(lambda callbacks: histories.append(nb["model"].fit(
        nb["training_data"], validation_data=nb["validation_data"], epochs=epochs, verbose=0,
        callbacks=callbacks)))
    import mnist_utils

    print("RESULT " + json.dumps({"seconds": seconds[1:], "versions": mnist_utils.versions(),
                                  "device": nb["accelerator"].description,
                                  "val_accuracy": histories[0].history["val_accuracy"][-1]}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
