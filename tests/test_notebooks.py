"""The notebooks' structure, metadata and models (nbval runs them top to bottom separately)."""
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import sync_notebooks
from notebook_code import cell_text as text, code_until, load, notebook_paths

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = notebook_paths()
SECTIONS = ["Setup", "Parameters", "Data", "Model", "Training", "Predictions", "Try this"]

# Parameters of the final `model` of each notebook, counted by hand from the architecture.
# A change here must be a deliberate change of the lesson.
PARAMETER_COUNTS = {
    "01_softmax.ipynb": 784 * 10 + 10,
    "02_dense_layers.ipynb": 157_000 + 20_100 + 6_060 + 1_830 + 310,
    "03_decay_and_dropout.ipynb": 157_000 + 20_100 + 6_060 + 1_830 + 310,
    "04_convolutions.ipynb": 60 + 2_604 + 10_392 + (7 * 7 * 24 * 200 + 200) + 2_010,
    # the first convolution with a bias, no batch norm; the others without bias, each with a batch
    # norm without scale: offset, moving mean, moving variance
    "05_batch_norm.ipynb": (5 * 5 * 16 + 16) + (5 * 5 * 16 * 32 + 3 * 32) + (4 * 4 * 32 * 64 + 3 * 64)
                           + (3_136 * 200 + 3 * 200) + 2_010,
}


def test_the_five_notebooks_are_there():
    assert [p.name for p in NOTEBOOKS] == list(PARAMETER_COUNTS)
    assert sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb")) == list(PARAMETER_COUNTS)


def test_notebooks_and_readme_are_in_sync_with_pyproject():
    """Clean JSON and links derived from pyproject's Repository URL (tools/sync_notebooks.py)."""
    assert sync_notebooks.main(["--check"]) == 0, "run: python tools/sync_notebooks.py"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_structure(path):
    nb = load(path)
    cells = nb["cells"]
    repo = sync_notebooks.repository_url()

    title = text(cells[0])
    assert title.startswith(f"# {path.name[:2]} · ")
    badge = f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({sync_notebooks.colab_url(repo, path.name)})"
    assert badge in title
    kaggle = f"[![Open In Kaggle](https://kaggle.com/static/images/open-in-kaggle.svg)]({sync_notebooks.kaggle_url(repo, path.name)})"
    assert f"{badge} {kaggle}" in title
    # for a reader on GitHub, who sees no outputs: the executed page on the course's site
    site = f"{sync_notebooks.SITE_LINK}({sync_notebooks.page_url(repo, path.name)})"
    assert f"{kaggle} {site}" in title
    assert sync_notebooks.page_url(repo, path.name) == \
        f"https://mnist-ladder.github.io/keras-mnist-ladder/{path.stem}.html"

    # Neighbours are linked, locally and in Colab, and exist.
    number = int(path.name[:2])
    for neighbour in NOTEBOOKS:
        if abs(int(neighbour.name[:2]) - number) == 1:
            assert f"]({neighbour.name})" in title
            assert sync_notebooks.colab_url(repo, neighbour.name) in title

    headings = [line[3:].strip() for cell in cells if cell["cell_type"] == "markdown"
                for line in text(cell).splitlines() if line.startswith("## ")]
    assert headings == SECTIONS

    # One setup cell, right under its heading: installs the release of mnist_utils the
    # notebook was written for, from the repository, on Colab and Kaggle only.
    setup = cells[[i for i, c in enumerate(cells) if text(c).startswith("## Setup")][0] + 1]
    assert setup["cell_type"] == "code"
    assert f'"{sync_notebooks.install_requirement(repo)}"' in text(setup)
    assert 'if "google.colab" in sys.modules or "KAGGLE_KERNEL_RUN_TYPE" in os.environ:' \
        in text(setup)
    assert "find_accelerator()" in text(setup)

    for cell in cells:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None
            assert "#@title" not in text(cell), "helpers belong in mnist_utils, not hidden cells"
            assert "NBVAL" not in text(cell)  # no test switches in what learners read
        assert text(cell).strip(), "empty cell"

    metadata = nb["metadata"]
    assert metadata["accelerator"] == "GPU"
    assert metadata["colab"]["toc_visible"] is True
    assert metadata["colab"]["name"] == path.name
    assert metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_model_has_the_expected_parameters(path, shared_mnist_dir, monkeypatch, capsys):
    """Setup, Parameters, Data and Model run without a single warning, and build the model
    the lesson describes (an accidental architecture change fails here)."""
    monkeypatch.setenv("MNIST_DATA_DIR", str(shared_mnist_dir))
    namespace = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exec(compile(code_until(load(path), "Training"), path.name, "exec"), namespace)
    model = namespace["model"]
    assert model.count_params() == PARAMETER_COUNTS[path.name]
    printed = capsys.readouterr().out
    assert re.search(r"Keras \S+ on TensorFlow \S+", printed)
    # Validation fits a 4 GB GPU: the outputs of all layers for one validation batch (float32,
    # all alive at once, the worst case) take under 1 GB, leaving room for weights and work.
    from mnist_utils.data import VALIDATION_BATCH_SIZE
    activations = sum(int(np.prod(layer.output.shape[1:])) for layer in model.layers)
    assert activations * VALIDATION_BATCH_SIZE * 4 < 1e9, activations
    assert f"{PARAMETER_COUNTS[path.name]:,}" in printed  # model.summary() shows the count
