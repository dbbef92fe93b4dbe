"""The "Try this" exercises: each has a solution to unfold, collapsed, and their checks tell a
solved exercise from an unsolved one: every check says "Not yet" on the notebook as it is, and
"✓" once the notebook is run with the solution applied."""
import contextlib
import io
import re
from pathlib import Path

import keras
import pytest
from accuracy import VARIANTS  # the exercise variants whose results the text states
from notebook_code import cell_text, load, notebook_paths, run_until

REPO = Path(__file__).resolve().parents[1]


def try_this(nb):
    """The cells from the "## Try this" heading to the end, but for a closing "### " part
    (notebook 05's look back over the series)."""
    cells = nb["cells"]
    start = next(i for i, c in enumerate(cells) if cell_text(c).startswith("## Try this"))
    return [c for c in cells[start + 1:] if not cell_text(c).startswith("### ")]


def checks(nb):
    return [cell_text(c) for c in try_this(nb) if c["cell_type"] == "code"]


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.name)
def test_every_exercise_has_a_collapsed_solution_with_code(path):
    exercises = [c for c in try_this(load(path)) if c["cell_type"] == "markdown"]
    numbers = [int(cell_text(c)[2]) for c in exercises]
    assert numbers == list(range(1, len(exercises) + 1)), "exercises numbered 1, 2, 3, ..."
    for check in checks(load(path)):
        number = int(re.match(r"# Check exercise (\d+)\n", check).group(1))
        assert cell_text(exercises[number - 1]).startswith(f"**{number}. ")
    assert len(exercises) >= 3
    for cell in exercises:
        text = cell_text(cell)
        assert re.match(r"\*\*\d\. ", text), text[:80]  # "**1. The learning rate.** ..."
        details = re.search(r"<details>\n<summary>Solution</summary>\n\n(.*?)\n\n</details>",
                            text, re.S)
        assert details, f"no collapsed solution in: {text[:80]}"
        assert "<details open" not in text
        assert "```python\n" in details.group(1)


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.name)
def test_every_check_says_either_done_or_not_yet(path):
    assert checks(load(path)), "at least one exercise per notebook can be checked"
    for check in checks(load(path)):
        assert check.startswith("# Check exercise ") and "✓" in check and "Not yet" in check


def trained(nb, name):
    """The namespace of the notebook's code up to Predictions, training capped at 1 epoch of
    2 steps (the checks read what training left behind)."""
    keras.config.set_max_epochs(1)
    keras.config.set_max_steps_per_epoch(2)
    return run_until(nb, "Predictions", name)


def printed_by(check, namespace):
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(check, "check", "exec"), namespace)
    return printed.getvalue()


def run_with(path, replacements, exercise):
    """Runs the notebook's code with its cells changed as a solution says, then the exercise's
    check; returns what the check printed."""
    nb = load(path)
    solution = next(cell_text(c) for c in try_this(nb)
                    if cell_text(c).startswith(f"**{exercise}. "))
    for old, new in replacements:
        assert new.strip() in solution, f"the solution of exercise {exercise} shows {new!r}"
        cells = [c for c in nb["cells"] if c["cell_type"] == "code" and old in cell_text(c)]
        assert len(cells) == 1, old
        cells[0]["source"] = cell_text(cells[0]).replace(old, new)
    check = next(c for c in checks(nb) if c.startswith(f"# Check exercise {exercise}\n"))
    return printed_by(check, trained(nb, path.name))


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.name)
def test_every_check_says_not_yet_on_the_notebook_as_it_is(path, shared_mnist_dir, monkeypatch):
    """A check that passes before the exercise is done teaches nothing."""
    monkeypatch.setenv("MNIST_DATA_DIR", str(shared_mnist_dir))
    namespace = trained(load(path), path.name)
    for check in checks(load(path)):
        printed = printed_by(check, namespace)
        assert printed.startswith("Not yet: ") and "✓" not in printed, (check[:20], printed)


NOTEBOOK = {p.name[:2]: p for p in notebook_paths()}
SOLVED = [  # (notebook, exercise, the solution's change)
    ("01", 2, VARIANTS["01_batch_1024"][1]),
    ("02", 1, VARIANTS["02_sigmoid_adam"][1]),
    ("02", 1, VARIANTS["02_relu_sgd"][1]),
    ("02", 3, [('        keras.layers.Dense(100, activation=activation),\n'
                '        keras.layers.Dense(60, activation=activation),\n'
                '        keras.layers.Dense(30, activation=activation),\n', '')]),
    ("04", 1, [('keras.layers.Conv2D(12, 6, strides=2, padding="same", activation="relu")',
                'keras.layers.Conv2D(12, 6, padding="same", activation="relu")'),
               ('keras.layers.Conv2D(24, 6, strides=2, padding="same", activation="relu")',
                'keras.layers.Conv2D(24, 6, padding="same", activation="relu")')]),
    ("05", 1, [('''    return [
        keras.layers.Conv2D(filters, size, strides=strides, padding="same", use_bias=False),
        keras.layers.BatchNormalization(scale=False),
        keras.layers.Activation("relu"),
    ]''', '''    return [keras.layers.Conv2D(filters, size, strides=strides, padding="same", activation="relu")]'''),
               ('''        keras.layers.Dense(200, use_bias=False),
        keras.layers.BatchNormalization(scale=False),
        keras.layers.Activation("relu"),''', '''        keras.layers.Dense(200, activation="relu"),''')]),
    ("05", 2, VARIANTS["05_no_dropout"][1]),
]


@pytest.mark.parametrize("notebook, exercise, replacements", SOLVED,
                         ids=[f"{n}-exercise{e}-{i}" for i, (n, e, _) in enumerate(SOLVED)])
def test_a_solved_exercise_passes_its_check(notebook, exercise, replacements, shared_mnist_dir,
                                            monkeypatch):
    monkeypatch.setenv("MNIST_DATA_DIR", str(shared_mnist_dir))
    printed = run_with(NOTEBOOK[notebook], replacements, exercise)
    assert printed.startswith("✓ "), printed


def test_an_unsolved_exercise_says_not_yet(shared_mnist_dir, monkeypatch):
    monkeypatch.setenv("MNIST_DATA_DIR", str(shared_mnist_dir))
    printed = run_with(NOTEBOOK["02"], [], 3)
    assert printed.startswith("Not yet: the ReLU model has 185,300 parameters"), printed


UNSOLVED_BUT_CLOSE = [  # (notebook, exercise, a change that is not the solution) -> "Not yet"
    ("03", 1, [("EPOCHS = 10", "EPOCHS = 1")]),   # one epoch: the decay never shows, still not done
    ("05", 1, [('''    return [
        keras.layers.Conv2D(filters, size, strides=strides, padding="same", use_bias=False),
        keras.layers.BatchNormalization(scale=False),
        keras.layers.Activation("relu"),
    ]''', '''    return [keras.layers.Conv2D(filters, size, strides=strides, padding="same")]'''),
               ('''        keras.layers.Dense(200, use_bias=False),
        keras.layers.BatchNormalization(scale=False),
        keras.layers.Activation("relu"),''', '''        keras.layers.Dense(200),''')]),  # ReLUs gone too
    ("05", 1, [('''        keras.layers.BatchNormalization(scale=False),
        keras.layers.Activation("relu"),
    ]''', '''        keras.layers.Activation("relu"),
    ]'''),
               ('''        keras.layers.Dense(200, use_bias=False),
        keras.layers.BatchNormalization(scale=False),''', '''        keras.layers.Dense(200, use_bias=False),''')]),
    # only the BatchNormalization lines gone: no biases, the ReLUs left as layers of their own
]


@pytest.mark.parametrize("notebook, exercise, replacements", UNSOLVED_BUT_CLOSE,
                         ids=[f"{n}-exercise{e}-{i}" for i, (n, e, _) in enumerate(UNSOLVED_BUT_CLOSE)])
def test_a_change_that_misses_the_exercise_says_not_yet(notebook, exercise, replacements,
                                                        shared_mnist_dir, monkeypatch):
    monkeypatch.setenv("MNIST_DATA_DIR", str(shared_mnist_dir))
    nb = load(NOTEBOOK[notebook])
    for old, new in replacements:
        cells = [c for c in nb["cells"] if c["cell_type"] == "code" and old in cell_text(c)]
        assert len(cells) == 1, old
        cells[0]["source"] = cell_text(cells[0]).replace(old, new)
    check = next(c for c in checks(nb) if c.startswith(f"# Check exercise {exercise}\n"))
    printed = printed_by(check, trained(nb, NOTEBOOK[notebook].name))
    assert printed.startswith("Not yet: ") and "✓" not in printed, printed
