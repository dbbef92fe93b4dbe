"""compare_runs: two training runs drawn together (notebooks' "Try this": keep `first_run`)."""
import matplotlib
import pytest

matplotlib.use("Agg")
import mnist_utils  # noqa: E402
from helpers import save  # noqa: E402

FIRST = {"accuracy": [0.88, 0.90, 0.91], "val_accuracy": [0.90, 0.91, 0.9206],
         "loss": [0.45, 0.36, 0.33], "val_loss": [0.35, 0.31, 0.29]}
SECOND = {"accuracy": [0.80, 0.86], "val_accuracy": [0.85, 0.8712],
          "loss": [0.70, 0.50], "val_loss": [0.55, 0.45]}


class History:  # what model.fit returns, as far as compare_runs reads it
    def __init__(self, history):
        self.history = history


def test_compare_runs_draws_both_runs_in_each_panel():
    fig = mnist_utils.compare_runs(History(FIRST), SECOND)
    accuracy, loss = fig.axes
    assert [line.get_label() for line in accuracy.lines] == [
        "first run: validation", "first run: training", "this run: validation", "this run: training"]
    assert list(accuracy.lines[0].get_ydata()) == FIRST["val_accuracy"]
    assert list(loss.lines[2].get_ydata()) == SECOND["val_loss"]
    assert "92.06% after 3 epochs" in fig._suptitle.get_text()
    assert "87.12% after 2 epochs" in fig._suptitle.get_text()
    save(fig, "compare_runs")


def test_compare_runs_says_what_it_needs():
    with pytest.raises(ValueError, match="val_accuracy"):
        mnist_utils.compare_runs({"accuracy": [0.9]}, SECOND)


def test_the_batch_norm_picture_draws_both_panels_on_one_scale():
    """Issue 30: before and after batch normalisation, on the same y-scale (a smaller spread
    must look smaller)."""
    import keras
    import numpy as np

    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(4, 3, padding="same", use_bias=False),
        keras.layers.BatchNormalization(scale=False),
        keras.layers.Activation("relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax"),
    ])
    images = np.random.default_rng(1).uniform(0, 1, (16, 28, 28, 1)).astype("float32") * 5
    fig = mnist_utils.show_batch_norm(model, images)
    left, right = fig.axes[:2]
    assert left.get_ylim() == right.get_ylim()
    before, after = mnist_utils.batch_norm_values(model, images)
    low, high = left.get_ylim()
    for values in (before, after):   # every bar, mean ± standard deviation, fits on the scale
        mean, std = values.reshape(-1, 4).mean(axis=0), values.reshape(-1, 4).std(axis=0)
        assert low <= (mean - std).min() and (mean + std).max() <= high
    save(fig, "batch_norm_one_scale")
