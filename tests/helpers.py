"""What several test files share, in one place: fresh worker processes (their environment, a free
port, the RESULT line they print), the browser gate, figures saved for a look, and tiny MNIST
files written by the tests. Fixtures are in conftest.py; this module imports no Keras."""
import gzip
import hashlib
import json
import os
import socket
import struct
import subprocess
import tomllib
from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_rgb

REPO = Path(__file__).resolve().parents[1]
OUTPUT = Path(__file__).parent / "output"       # figures the tests draw, to look at


# --- The repository as a learner's pip sees it -----------------------------------------------

def clone_of_this_branch(folder):
    """A plain clone of this checkout's branch, as pip clones the repository from GitHub: that
    branch's commits only (no tags, no other branches), and nothing made in it."""
    branch = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--abbrev-ref", "HEAD"],
                            capture_output=True, text=True, check=True).stdout.strip()
    which = ["--branch", branch] if branch != "HEAD" else []  # HEAD: a detached checkout
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", "--single-branch", "--no-tags",
                    *which, str(REPO), str(folder)], check=True)
    return Path(folder)


# --- Worker processes -------------------------------------------------------------------------

# What a fresh Python imports from this checkout: the folders of pytest's `pythonpath` setting,
# which the tests themselves get.
PYTEST = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
PYTHONPATH = os.pathsep.join(str(REPO / folder) for folder in PYTEST["pythonpath"])
# What a worker must not inherit from the test run: a backend, a cluster or a TPU hint chosen
# for it, and Keras' caps on epochs and steps.
NOT_INHERITED = ("KERAS_BACKEND", "TF_CONFIG", "XLA_FLAGS", "KERAS_MAX_EPOCHS",
                 "KERAS_MAX_STEPS_PER_EPOCH", "TPU_ACCELERATOR_TYPE", "COLAB_TPU_1VM", "TPU_NAME",
                 "KERAS_DISTRIBUTION_JOB_ADDRESSES", "KERAS_DISTRIBUTION_NUM_PROCESSES",
                 "KERAS_DISTRIBUTION_PROCESS_ID")


def worker_env(shared_mnist_dir, **extra):
    """A worker's environment: a quiet Keras on the CPU only, the genuine MNIST files, no caps,
    no cluster and no TPU hint, this checkout importable; then `extra` (e.g. KERAS_BACKEND)."""
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env.update(TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="",
               MNIST_DATA_DIR=str(shared_mnist_dir),
               PYTHONPATH=os.pathsep.join(filter(None, [PYTHONPATH, os.environ.get("PYTHONPATH")])),
               **extra)
    return env


def worker_result(returncode, output):
    """The JSON of the last "RESULT {...}" line a worker printed, once it exited cleanly."""
    assert returncode == 0, output[-3000:]
    lines = [line for line in output.splitlines() if line.startswith("RESULT ")]
    assert lines, output[-3000:]
    return json.loads(lines[-1][len("RESULT "):])


def free_ports(n):
    """`n` different ports on 127.0.0.1 that nothing listens on (all held open while found)."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def free_port():
    """A port on 127.0.0.1 that nothing listens on."""
    return free_ports(1)[0]


# --- The browser tests: Debian's chromium driven by Playwright --------------------------------

CHROMIUM = os.environ.get("MNIST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def browser_or_skip():
    """Playwright's sync_playwright, or a skip (a failure under MNIST_BROWSER_TESTS=1)."""
    required = os.environ.get("MNIST_BROWSER_TESTS") == "1"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    missing = ("the playwright package" if sync_playwright is None
               else None if Path(CHROMIUM).exists() else f"chromium at {CHROMIUM}")
    if missing:
        if required:
            pytest.fail(f"MNIST_BROWSER_TESTS=1 but {missing} is missing: see .ci/run")
        pytest.skip(f"{missing} is missing (apt-get install chromium; pip install playwright)")
    return sync_playwright


# --- Figures, saved to tests/output/*.png for a look ------------------------------------------

def save(fig, name):
    OUTPUT.mkdir(exist_ok=True)
    fig.savefig(OUTPUT / f"{name}.png")


def is_red(color):
    r, g, b = to_rgb(color)
    return r > 0.7 and g < 0.3 and b < 0.3


def captions(fig):
    """The text under each digit of a digit grid, and its colour."""
    return [(t.get_text(), t.get_color()) for t in fig.axes[0].texts]


# --- Tiny MNIST files written by the tests -----------------------------------------------------

N_TRAIN, N_TEST = 50, 20
NAMES = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
         "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}


def idx_bytes(role, items, magic=None, dims=(28, 28)):
    """An IDX file's bytes: header + items (uint8), as MNIST lays them out."""
    if role.endswith("images"):
        header = struct.pack(">IIII", magic or 2051, len(items), *dims)
    else:
        header = struct.pack(">II", magic or 2049, len(items))
    return header + np.asarray(items, np.uint8).tobytes()


def tiny_contents():
    """Image i of the training set has every pixel = i (so tests can tell digits apart),
    test image i every pixel = 100 + i; label = i % 10."""
    train, test = np.arange(N_TRAIN), np.arange(N_TEST)
    return {"train_images": idx_bytes("train_images", np.repeat(train, 784).reshape(-1, 28, 28)),
            "train_labels": idx_bytes("train_labels", train % 10),
            "test_images": idx_bytes("test_images", np.repeat(100 + test, 784).reshape(-1, 28, 28)),
            "test_labels": idx_bytes("test_labels", test % 10)}


def write_files(folder, contents, gz=True):
    """Writes the four files into folder; returns the table of names and checksums."""
    from mnist_utils.files import MnistFile

    folder.mkdir(parents=True, exist_ok=True)
    table = {}
    for role, raw in contents.items():
        compressed = gzip.compress(raw, mtime=0)
        name = NAMES[role] + (".gz" if gz else "")
        (folder / name).write_bytes(compressed if gz else raw)
        table[role] = MnistFile(NAMES[role], hashlib.md5(raw).hexdigest(),
                                hashlib.md5(compressed).hexdigest())
    return table


def ids(images):
    """The number written into each tiny training image."""
    return np.rint(np.asarray(images).reshape(len(images), -1)[:, 0] * 255).astype(int)
