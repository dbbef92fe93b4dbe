"""Figures in a real Jupyter kernel (mnist_utils/plots.py's new_figure teaches Jupyter to show a
Figure made without pyplot): each helper's figure shows exactly once, and the live plot updates one figure in
place, then shows the finished one afresh."""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import OUTPUT

pytestmark = pytest.mark.filterwarnings("error")


NOTEBOOK_CELLS = [
    """import warnings
warnings.simplefilter("default")
import keras, numpy as np
import mnist_utils
x, y = mnist_utils.font_digits()
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                          keras.layers.Dense(10, activation="softmax")])
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])""",
    "mnist_utils.show_digits(x[:20], y[:20])",
    "plot = mnist_utils.LivePlot(sample_every=1, weights=True)\n"
    "plot._due = lambda: True  # every frame is due (their timing: test_live_plot.py)\n"
    "history = model.fit(x, y, batch_size=10, epochs=3, validation_data=(x, y), callbacks=[plot],"
    " verbose=2)",
    "probabilities = model.predict(x, verbose=0)\n"
    "mnist_utils.show_mistakes(x, y, probabilities)",
    "mnist_utils.plot_confusion_matrix(y, probabilities)",
    "mnist_utils.plot_learning_rate(lambda epoch: 0.01 * 0.6**epoch, 10)",
    "quiet = mnist_utils.LivePlot(live=False)\n"
    "history = model.fit(x, y, epochs=1, callbacks=[quiet], verbose=0)",
    "import matplotlib.pyplot as plt\nplt.close(plt.figure())  # pyplot in use: inline backend\n"
    "mnist_utils.show_digits(x[:10], y[:10], probabilities[:10])",
]


DEV_EXTRAS = ("nbformat", "nbclient", "ipykernel")   # from pyproject's [dev] extras


def _dev_extras_or_skip():
    """Skip only where the dev extras are missing: with them installed, a kernel must start,
    and a kernel that does not is a failure (a skip would hide a broken setup in CI)."""
    missing = [name for name in DEV_EXTRAS if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f"needs the dev extras ({', '.join(missing)} missing): "
                    "pip install -e '.[dev]'")


def test_in_a_jupyter_kernel_each_figure_shows_once():
    _dev_extras_or_skip()
    import nbclient
    import nbformat

    class CountingClient(nbclient.NotebookClient):
        """Counts the messages of each cell, display updates included."""
        messages = {}

        shown = {}

        def process_message(self, msg, cell, cell_index):
            kinds = self.messages.setdefault(cell_index, [])
            kinds.append(msg["header"]["msg_type"])
            if kinds[-1] == "display_data" and "image/png" in msg["content"]["data"]:
                self.shown.setdefault(cell_index, []).append(msg["content"]["data"]["image/png"])
            return super().process_message(msg, cell, cell_index)

    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(source) for source in NOTEBOOK_CELLS])
    ours = ("MNIST_LIVE_PLOT", "MPLBACKEND", "KERAS_MAX_EPOCHS", "KERAS_MAX_STEPS_PER_EPOCH")
    env = {k: v for k, v in os.environ.items() if k not in ours}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(Path(__file__).parents[1]))
    client = CountingClient(notebook, kernel_name="python3", timeout=300,
                            resources={"metadata": {"path": str(Path(__file__).parent)}})
    client.execute(env=env)               # starts a kernel, runs the cells, shuts it down
    OUTPUT.mkdir(exist_ok=True)
    nbformat.write(notebook, OUTPUT / "kernel_check.ipynb")

    def pngs(cell):
        return [out for out in cell.outputs if "image/png" in out.get("data", {})]

    cells = notebook.cells
    for helper in (1, 3, 4, 5, 7):
        assert len(pngs(cells[helper])) == 1, cells[helper].source
        assert len(cells[helper].outputs) == 1, cells[helper].outputs
    live = cells[2]
    assert len(pngs(live)) == 1        # one figure, updated in place: not a pile of them
    # A front end that ignores display updates sees only the figures first shown: the last of
    # them, after the progress lines of the last epoch, is the finished figure.
    shown = client.shown[2]
    assert len(shown) == 2 and shown[0] != shown[1]
    assert live.outputs[-1]["data"]["image/png"] == shown[-1]
    assert "Epoch 3/3" in "".join(out.get("text", "") for out in live.outputs[:-1])
    assert client.messages[2].count("update_display_data") >= 3     # at least 1 per epoch
    assert all(out.output_type != "stream" or out.name == "stdout" for out in live.outputs)
    assert "Epoch 3/3" in "".join(out.get("text", "") for out in live.outputs)  # progress stays
    assert len(pngs(cells[6])) == 1 and "update_display_data" not in client.messages[6]
    for cell in cells[1:]:
        assert not [out for out in cell.outputs if out.get("name") == "stderr"], cell.outputs
    # Every picture carries alt text (Jupyter's image metadata, which the site puts in <img alt>),
    # pyplot's inline backend (cell 7) or not.
    for cell in cells[1:]:
        for out in pngs(cell):
            alt = out.get("metadata", {}).get("image/png", {}).get("alt", "")
            assert len(alt) > 20 and "<Figure" not in alt, (cell.source, out.get("metadata"))
    alts = [pngs(cells[i])[0]["metadata"]["image/png"]["alt"] for i in (1, 2, 3, 4, 5, 7)]
    assert alts[0].startswith("Figure: 20 digits, captioned ")
    assert "validation" in alts[1] and "against epoch" in alts[1] and "key: training" in alts[1]
    assert "digits wrong" in alts[2] and "label → prediction" in alts[2]
    assert "true digit against predicted digit; a 10×10 table of numbers" in alts[3]
    assert "learning rate against epoch" in alts[4]
    assert "wrong ones in red as label → prediction" in alts[5]


def test_a_kernel_that_cannot_start_fails_the_kernel_test(tmp_path):
    """With the dev extras installed, a broken kernel fails the kernel test instead of skipping it."""
    _dev_extras_or_skip()
    spec = tmp_path / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(tmp_path / "no-such-python"), "-m", "ipykernel_launcher",
                 "-f", "{connection_file}"],
        "display_name": "Python 3 (broken on purpose)", "language": "python"}))
    env = dict(os.environ, JUPYTER_PATH=str(tmp_path), JUPYTER_DATA_DIR=str(tmp_path))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs",
         f"{__file__}::test_in_a_jupyter_kernel_each_figure_shows_once"],
        cwd=Path(__file__).parents[1], env=env, capture_output=True, text=True, timeout=300)
    summary = run.stdout.strip().splitlines()[-1]
    assert run.returncode == 1 and "1 failed" in summary, run.stdout[-3000:]


def test_alt_text_says_what_each_figure_shows():
    """The alt text Jupyter shows a figure with (mnist_utils/plots.py), read from the figure:
    its title, each panel's title, axes and legend, and the digits' captions."""
    import numpy as np

    import mnist_utils
    from mnist_utils.plots import _png, alt_text, new_figure
    x, y = mnist_utils.font_digits()
    wrong = np.where(np.arange(len(y)) == 1, (y + 1) % 10, y)       # the second digit misread
    assert alt_text(mnist_utils.show_digits(x[:3], y[:3], title="three digits")) == \
        f"Three digits. Figure: 3 digits, captioned {y[0]}, {y[1]}, {y[2]}."
    assert f"captioned {y[0]}, {y[1]} → {(y[1] + 1) % 10}, " in alt_text(
        mnist_utils.show_digits(x[:20], y[:20], wrong[:20]))
    assert alt_text(mnist_utils.plot_confusion_matrix(y, y)) == (
        f"Figure: {len(y)} of {len(y)} right (100.00%), true digit against predicted digit; "
        "a 10×10 table of numbers.")
    assert alt_text(mnist_utils.plot_learning_rate(lambda epoch: 0.01, 3)) == (
        "Figure: learning rate: 0.01 at first, 0.01 at the end, learning rate against epoch.")
    assert alt_text(new_figure()) == "A figure."
    png, metadata = _png(mnist_utils.show_digits(x[:3], y[:3]))
    assert png.startswith(b"\x89PNG") and metadata == {"alt": "Figure: 3 digits, captioned "
                                                      f"{y[0]}, {y[1]}, {y[2]}."}
