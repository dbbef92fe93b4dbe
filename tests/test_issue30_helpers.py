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
