"""Run by tests/test_jax_distribution.py in a fresh process on Keras' JAX backend.

    PYTHONPATH=.:tools python tests/jax_worker.py NOTEBOOK EPOCHS STEPS SHARE.npy

Runs the notebook's Setup and Parameters cells (find_accelerator picks the distribution: the
environment says how many host devices, or which cluster), builds its model with its own Model
cell (the one with `with accelerator.scope():`), and trains it with model.fit for EPOCHS epochs of STEPS steps on
`mnist_utils.training_dataset(BATCH_SIZE, seed=SEED)`. Then it saves to SHARE.npy a fingerprint
of every digit this process is given in one epoch (through the same
`distribution.distribute_dataset` that fit uses), and prints RESULT {json} as its last line.
"""
import json
import sys
from pathlib import Path

import numpy as np
from notebook_code import cell_text, code_until, load  # tools/: helpers.worker_env's PYTHONPATH

REPO = Path(__file__).resolve().parents[1]


def model_cell(nb):
    """The code cell that builds the notebook's model in `with accelerator.scope():`."""
    return next(cell_text(cell) for cell in nb["cells"] if cell["cell_type"] == "code"
                and "with accelerator.scope():" in cell_text(cell))


def fingerprints(images):
    """One integer per digit, exact: its 784 pixel values (0-255) times fixed random integers."""
    pixels = np.rint(np.asarray(images, dtype=np.float64) * 255).astype(np.int64)
    weights = np.random.default_rng(0).integers(1, 2**31, size=784, dtype=np.int64)
    return pixels.reshape(len(pixels), -1) @ weights


def main():
    notebook, epochs, steps, share_path = sys.argv[1], *map(int, sys.argv[2:4]), sys.argv[4]
    nb = load(REPO / "notebooks" / notebook)
    ns = {}
    exec(compile(code_until(nb, "Data"), f"{notebook}: Setup, Parameters", "exec"), ns)

    import jax
    import keras

    import mnist_utils

    accelerator, batch_size = ns["accelerator"], ns["BATCH_SIZE"]
    train = mnist_utils.training_dataset(batch_size, seed=ns["SEED"])
    exec(compile(model_cell(nb), f"{notebook}: Model", "exec"), ns)
    model = ns["model"]
    history = model.fit(train, epochs=epochs, steps_per_epoch=steps, shuffle=False,
                        verbose=0).history

    # The digits this process is given in one epoch, each as a fingerprint (see fingerprints()).
    distribution = keras.distribution.distribution()
    mine = distribution.distribute_dataset(train) if distribution else train
    np.save(share_path, np.concatenate([fingerprints(x) for x, _ in mine]))

    print("RESULT " + json.dumps({
        "backend": keras.backend.backend(),
        "kind": accelerator.kind,
        "replicas": accelerator.replicas,
        "description": accelerator.description,
        "distribution": type(distribution).__name__ if distribution else None,
        "processes": jax.process_count(),
        "devices": [str(device) for device in jax.devices()],
        "batch_size": batch_size,
        "loss": history["loss"],
        "weights": [np.asarray(w).ravel().tolist() for w in model.get_weights()],
        "kernel_devices": sorted(str(d) for d in model.weights[0].value.sharding.device_set),
    }))


if __name__ == "__main__":
    main()
