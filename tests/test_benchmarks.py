"""The benchmarks' own correctness: README's results are what they wrote, and the original
codelab we compare against is the one the issue describes (its models and its reader)."""
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def test_readme_results_are_what_the_benchmarks_wrote():
    """Nothing between the results markers is typed by hand: report.py would write it again
    exactly so from benchmarks/results/."""
    import report

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    inside = readme.split(report.BEGIN, 1)[1].split(report.END, 1)[0]
    expected = "\n" + "\n".join(report.section(*s) for s in report.SECTIONS)
    assert inside == expected, "run `python benchmarks/report.py` after a benchmark"


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
