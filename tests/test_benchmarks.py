"""The benchmarks' own correctness: README's results are what they wrote, the plumbing they share
(benchmarks/_plumbing.py) keeps the results' format, the backend benchmark's worker runs, and
the original codelab we compare against is the one the issue describes (its models and reader)."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"


def test_readme_results_are_what_the_benchmarks_wrote():
    """Nothing between the results markers is typed by hand: report.py would write it again
    exactly so from benchmarks/results/."""
    import report

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    inside = readme.split(report.BEGIN, 1)[1].split(report.END, 1)[0]
    expected = "\n" + "\n".join(report.section(*s) for s in report.SECTIONS)
    assert inside == expected, "run `python benchmarks/report.py` after a benchmark"


@pytest.mark.parametrize("name", sorted(p.stem for p in RESULTS.glob("*.json")))
def test_the_shared_writer_keeps_the_results_format(name, tmp_path):
    """Each result file read and written again by _plumbing comes out byte for byte the same."""
    from _plumbing import read_results, write_results

    markdown = (RESULTS / f"{name}.md").read_text()
    write_results(name, read_results(name, None), markdown, folder=tmp_path)
    assert (tmp_path / f"{name}.json").read_text() == (RESULTS / f"{name}.json").read_text()
    assert (tmp_path / f"{name}.md").read_text() == markdown
    assert read_results(name, {"none": True}, folder=tmp_path / "elsewhere") == {"none": True}


def test_the_machine_versions_and_command_line_a_result_records():
    import keras
    import numpy as np
    from _plumbing import command, machine, versions

    assert re.fullmatch(r"\S+, \d+ CPU cores", machine()) and f" {os.cpu_count()} " in machine()
    backend = keras.backend.backend()
    assert versions() == {"keras": keras.__version__,
                          backend: __import__(backend).__version__}
    assert versions("numpy") == {"numpy": np.__version__}
    assert command("/anywhere/benchmarks/frontier.py", ["--seeds", "1", "2"]) == \
        "python benchmarks/frontier.py --seeds 1 2"
    recorded = json.loads((RESULTS / "frontier.json").read_text())
    assert recorded["machine"].endswith(" CPU cores") and "keras" in recorded["versions"]


def test_accuracys_report_cell_records_the_versions_plumbing_gives(capsys):
    """The cell accuracy.py appends to each notebook, run here on a stand-in of its variables."""
    from types import SimpleNamespace

    from _plumbing import versions
    from accuracy import REPORT_CELL

    history = SimpleNamespace(history={"val_accuracy": [0.5, 0.9], "val_loss": [1.0, 0.3]})
    exec(REPORT_CELL.replace("HISTORY", "history"),
         {"history": history, "wrong": 1_000, "accelerator": SimpleNamespace(description="CPU")})
    report = json.loads(capsys.readouterr().out.split("@@RESULT@@", 1)[1])
    assert report == {"val_accuracy": [0.5, 0.9], "val_loss": [1.0, 0.3], "wrong": 1_000,
                      "device": "CPU", "versions": versions()}


def test_the_backend_benchmarks_worker_times_a_notebook_in_short_mode(shared_mnist_dir):
    """backend_epoch_worker.py as backend_epoch_time.py runs it, with the caps of conftest.py at
    the top (2 epochs of at most 30 steps): one epoch timed after the first, and what ran."""
    worker = REPO / "benchmarks" / "backend_epoch_worker.py"
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "MNIST_DATA_DIR": str(shared_mnist_dir),
           "TF_CPP_MIN_LOG_LEVEL": "2", "MNIST_LIVE_PLOT": "0", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run([sys.executable, str(worker), str(REPO / "notebooks" / "01_softmax.ipynb"),
                           "2"], env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.splitlines()[-1].removeprefix("RESULT "))
    assert len(result["seconds"]) == 1 and result["seconds"][0] > 0
    assert result["versions"].startswith("Keras 3.") and " on TensorFlow " in result["versions"]
    assert result["device"].startswith("Keras on TensorFlow, running on ")
    assert 0 <= result["val_accuracy"] <= 1


# The original's parameter counts, worked out by hand from its layers (weights + biases, and for
# batch normalisation an offset and two running statistics per channel); 05 has the 354,538 its
# notebook reports.
ORIGINAL_PARAMETERS = {
    "01": 784 * 10 + 10,
    "02": 784 * 200 + 200 + 200 * 60 + 60 + 60 * 10 + 10,
    "03": 784 * 200 + 200 + 200 * 100 + 100 + 100 * 60 + 60 + 60 * 10 + 10,
    "04": (3 * 3 * 12 + 12) + (6 * 6 * 12 * 24 + 24) + (6 * 6 * 24 * 32 + 32)
          + 7 * 7 * 32 * 200 + 200 + 200 * 10 + 10,
    "05": 3 * 3 * 12 + 6 * 6 * 12 * 24 + 6 * 6 * 24 * 32 + 7 * 7 * 32 * 200
          + 3 * (12 + 24 + 32 + 200) + 200 * 10 + 10,
}


@pytest.mark.parametrize("notebook", sorted(ORIGINAL_PARAMETERS))
def test_the_original_models_are_ported_whole(notebook):
    pytest.importorskip("tensorflow")
    import codelab

    model, batch_size, schedule = codelab.MODELS[notebook]()
    assert model.count_params() == ORIGINAL_PARAMETERS[notebook]
    assert batch_size == (64 if notebook == "05" else 128)
    if notebook in ("01", "02"):
        assert schedule is None
    else:
        decay = 0.666 if notebook == "05" else 0.6
        assert schedule(0) == pytest.approx(0.01) and schedule(3) == pytest.approx(0.01 * decay**3)


def test_the_original_reader_gives_what_its_models_read(shared_mnist_dir):
    """Flat images in [0, 1), one-hot labels, shuffled batches for training; the 10,000 test
    digits in file order, in one batch, for validation."""
    pytest.importorskip("tensorflow")
    import codelab

    path = {name: str(shared_mnist_dir / f"{name}-idx{3 if 'images' in name else 1}-ubyte.gz")
            for name in ("train-images", "train-labels", "t10k-images", "t10k-labels")}
    images, labels = next(iter(codelab.get_training_dataset(
        path["train-images"], path["train-labels"], 64)))
    assert images.shape == (64, 784) and labels.shape == (64, 10)
    assert 0 <= float(np.min(images)) and float(np.max(images)) < 1
    assert np.all(np.sum(labels, axis=1) == 1)
    images, labels = next(iter(codelab.get_validation_dataset(
        path["t10k-images"], path["t10k-labels"])))
    assert images.shape == (10_000, 784)
    from mnist_utils import load_digits

    _, first = load_digits(5, split="validation", data_dir=str(shared_mnist_dir))
    assert list(np.argmax(labels[:5], axis=1)) == list(first)


def test_frontiers_one_cycle_schedule_warms_up_then_comes_down_to_zero():
    """frontier.py's "cosine" schedule: from rate/10 up to rate over the warm-up share of the
    steps, then half a cosine down to 0 at the last step; "exponential" leaves the rate to the
    per-epoch callback."""
    import frontier

    c = frontier.config("mid-7ep-onecycle")
    steps = 60_000 // c["batch"] * c["epochs"]
    warmup = int(steps * 0.15)
    schedule = frontier.learning_rate(c)
    assert float(schedule(0)) == pytest.approx(0.002)
    assert float(schedule(warmup)) == pytest.approx(0.02)
    assert float(schedule((steps + warmup) // 2)) == pytest.approx(0.01, rel=0.01)
    assert float(schedule(steps)) == pytest.approx(0, abs=1e-9)
    assert frontier.learning_rate(frontier.config("mid")) == 0.01
    assert "decay" not in frontier.describe("mid-7ep-onecycle")
    assert "warmup 0.15" in frontier.describe("mid-7ep-onecycle")
