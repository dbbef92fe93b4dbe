"""What the notebooks tell a learner: names that cannot be confused, and claims that are true.

The numbers the prose states are checked against benchmarks/results/accuracy.json, the measured
runs of the notebooks (README's results table comes from the same file).
"""
import ast
import json
import re
from pathlib import Path

import pytest
from notebook_code import cell_text, code_until, load, notebook_paths

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = notebook_paths()
MEASURED = json.loads((REPO / "benchmarks" / "results" / "accuracy.json").read_text())["notebooks"]
SERIES_TITLE = "a 99.5% MNIST classifier"    # the series' goal, a name rather than a claim


def markdown_after(nb, heading):
    """The markdown of a section: the heading's cell and the markdown cells up to the next one."""
    texts, inside = [], False
    for cell in nb["cells"]:
        source = cell_text(cell)
        if cell["cell_type"] == "markdown" and source.startswith("## "):
            inside = source.startswith(f"## {heading}")
        if inside and cell["cell_type"] == "markdown":
            texts.append(source)
    return "\n".join(texts)


def top_level_names(nb, functions_only=False):
    """Names the notebook's code defines at the top level: variables and functions."""
    names = set()
    for node in ast.parse(code_until(nb, "<end>")).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        if functions_only:
            continue
        for target in getattr(node, "targets", []) + [getattr(node, "target", None)]:
            for name in ast.walk(target) if target is not None else []:
                if isinstance(name, ast.Name):
                    names.add(name.id)
    return names


def keywords_used(nb):
    return {keyword.arg for node in ast.walk(ast.parse(code_until(nb, "<end>")))
            if isinstance(node, ast.Call) for keyword in node.keywords if keyword.arg}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_two_names_differ_only_in_case_or_shadow_a_keyword(path):
    """`decay` next to `DECAY`, or a `learning_rate()` next to `LEARNING_RATE` and the
    `learning_rate=` keyword, are easy to mix up for a newcomer."""
    nb = load(path)
    names = top_level_names(nb)
    by_case = {}
    for name in names:
        by_case.setdefault(name.lower(), set()).add(name)
    assert [group for group in by_case.values() if len(group) > 1] == []
    # A function named like a keyword argument (`learning_rate()` and `learning_rate=`) reads
    # as if it were that argument's value. (`validation_data=validation_data` is fine.)
    shadowing = top_level_names(nb, functions_only=True) & keywords_used(nb)
    assert not shadowing, f"functions {sorted(shadowing)} are named like keyword arguments"


SCHEDULE_CELL = ("def lr_for_epoch(epoch):\n    return LEARNING_RATE * DECAY**epoch\n\n\n"
                 "lr_scheduler = keras.callbacks.LearningRateScheduler(lr_for_epoch)\n"
                 "mnist_utils.plot_learning_rate(lr_for_epoch, EPOCHS)")


@pytest.mark.parametrize("path", NOTEBOOKS[2:4], ids=lambda p: p.name)
def test_the_schedule_has_the_same_clear_names_in_every_notebook(path):
    nb = load(path)
    assert SCHEDULE_CELL in [cell_text(cell) for cell in nb["cells"]]
    training = code_until(nb, "Predictions").split("## Training")[-1]
    assert "callbacks=[lr_scheduler, mnist_utils.LivePlot(" in training


def test_notebook_05s_one_cycle_schedule_is_in_the_optimizer_and_drawn():
    """05 changes the rate at every step (warm-up, then cosine): one schedule object, given to
    Adam and drawn as it is, and no epoch-wise scheduler left over from 03 and 04."""
    nb = load(NOTEBOOKS[4])
    code = code_until(nb, "Predictions")
    assert "lr_schedule = keras.optimizers.schedules.CosineDecay(" in code
    assert "keras.optimizers.Adam(learning_rate=lr_schedule)" in code
    assert "mnist_utils.plot_learning_rate(lr_schedule, EPOCHS, steps_per_epoch=STEPS_PER_EPOCH)" in code
    assert "LearningRateScheduler" not in code and "DECAY" not in code
    assert "one-cycle" in markdown_after(nb, "Model")


def test_parameters_say_when_the_seed_repeats_a_run_and_what_replicas_do():
    """Said once, in notebook 01: what the seed repeats, and what several chips change."""
    prose = markdown_after(load(NOTEBOOKS[0]), "Parameters")
    assert "SEED" in prose
    # Repeatable only on the CPU by default; on a GPU only with op determinism, on both backends.
    assert re.search(r"on a GPU[^.]*not", prose, re.I)
    assert "tf.config.experimental.enable_op_determinism()" in prose
    assert "--xla_gpu_deterministic_ops=true" in prose
    # The batch is shared by the replicas while the learning rate does not grow: say so.
    assert "replica" in prose and "BATCH_SIZE" in prose and "LEARNING_RATE" in prose
    assert re.search(r"multiply the learning rate by the number of replicas", prose)
    assert "accelerator.global_batch_size(128)" in prose


def test_data_says_the_validation_digits_are_the_test_set():
    prose = markdown_after(load(NOTEBOOKS[0]), "Data")
    assert "*test set*" in prose
    assert re.search(r"final score a little optimistic", prose)


SAID_ONCE = ["enable_op_determinism", "--xla_gpu_deterministic_ops", "replica", "*test set*",
             "final score a little optimistic", "KERAS_BACKEND", "Run → Run All Cells"]


@pytest.mark.parametrize("path", NOTEBOOKS[1:], ids=lambda p: p.name)
def test_what_the_notebooks_share_is_said_once_in_01_and_linked(path):
    """02-05 open with what is new and a link back to 01, and do not repeat what 01 explains:
    the seed and several chips, the test set as validation digits, how to try an exercise."""
    nb = load(path)
    title = cell_text(nb["cells"][0])
    assert "New here" in title and "](01_softmax.ipynb)" in title
    everything = "\n".join(cell_text(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert [words for words in SAID_ONCE if words in everything] == []
    for section in ("Setup", "Parameters", "Data"):
        assert len(markdown_after(nb, section).split()) <= 60, section
    said_in_01 = "\n".join(cell_text(c) for c in load(NOTEBOOKS[0])["cells"])
    assert all(words in said_in_01 for words in SAID_ONCE if words != "KERAS_BACKEND")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_batch_size_is_a_plain_number_and_plumbing_stays_out_of_the_prose(path):
    nb = load(path)
    assert re.search(r"^BATCH_SIZE = 128 ", code_until(nb, "Data"), re.M)
    setup = markdown_after(nb, "Setup")
    assert len(re.findall(r"[.!?](?:\s|$)", setup.split("\n", 1)[1].strip())) <= 1, "one sentence"
    prose = "\n".join(cell_text(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "steps_per_execution" not in prose and "KERAS_BACKEND" not in prose


# --- numbers stated in the prose ---------------------------------------------------------------

PERCENT = r"(\d+(?:\.\d+)?)%"
RANGE = re.compile(PERCENT + r" to " + PERCENT)
SINGLE = re.compile(PERCENT)
COUNT = re.compile(r"(\d[\d,]*) (?:mistakes|digits wrong)")


def claims(path):
    """(notebook, sentence) for each sentence of the intro and the final-score cell.

    A sentence about "notebook NN" speaks of that notebook, any other of this one.
    """
    nb = load(path)
    cells = [cell_text(nb["cells"][0])]
    cells += [cell_text(c) for c in nb["cells"] if cell_text(c).startswith("The final score.")]
    assert len(cells) == 2, "every notebook has a markdown cell starting 'The final score.'"
    for text in cells:
        text = re.sub(r"\]\([^)]*\)", "]", text).replace(SERIES_TITLE, "")  # no links, no title
        for sentence in re.split(r"(?<=[.:])\s+|\n", text):
            other = re.search(r"notebook (\d\d)", sentence)
            number = other.group(1) if other else path.name[:2]
            name = next(p.name for p in NOTEBOOKS if p.name.startswith(number))
            yield name, sentence


def check_accuracy(stated, decimals, measured):
    """A stated accuracy is the measured one cut to its precision: never rounded up to more."""
    step = 10.0 ** -decimals
    return measured - step < stated <= measured + 1e-4


def check_count(stated, measured):
    """A stated count of mistakes is the measured one rounded to the stated count's precision
    (55 is "around 60" or "55", not "about 50")."""
    zeros = len(str(stated)) - len(str(stated).rstrip("0")) if stated else 0
    unit = 10**zeros
    return stated == int(measured / unit + 0.5) * unit


def wrong_claims(path, measured=MEASURED):
    wrong = []
    for name, sentence in claims(path):
        accuracy = 100 * measured[name]["final_median"]
        for low, high in RANGE.findall(sentence):
            if not float(low) <= accuracy <= float(high):
                wrong.append(f"{name}: {low}% to {high}% vs {accuracy:.2f}%: {sentence}")
        for value in SINGLE.findall(RANGE.sub("", sentence)):
            decimals = len(value.partition(".")[2])
            if not check_accuracy(float(value), decimals, accuracy):
                wrong.append(f"{name}: {value}% vs {accuracy:.2f}%: {sentence}")
        for value in COUNT.findall(sentence):
            count = int(value.replace(",", ""))
            if not check_count(count, measured[name]["wrong_median"]):
                wrong.append(f"{name}: {count} wrong vs {measured[name]['wrong_median']}: "
                             f"{sentence}")
    return wrong


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_numbers_in_the_prose_are_what_was_measured(path):
    assert wrong_claims(path) == []
    stated = [s for _, s in claims(path) if SINGLE.search(s) or COUNT.search(s)]
    assert stated, "the intro or the final-score cell should say what to expect"


def test_the_number_rules_reject_what_the_notebooks_used_to_say():
    """02 said "about 98%" (measured 97.67%), 05 "99.5%" and "about 50 mistakes" (99.45%, 55)."""
    assert not check_accuracy(98, 0, 97.67) and check_accuracy(97, 0, 97.67)
    assert not check_accuracy(99.5, 1, 99.449998) and check_accuracy(99.4, 1, 99.449998)
    assert check_accuracy(99.45, 2, 99.449998) and check_accuracy(92, 0, 92.12)
    assert not check_count(50, 55) and check_count(55, 55) and check_count(60, 55)
    assert check_count(800, 788) and check_count(230, 233) and not check_count(700, 788)


SPREAD = re.compile(r"the seed alone moved the result by (\d+) digits", re.I)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_final_score_says_how_far_the_seed_moved_it(path):
    """How much a result moves from seed to seed, from the measured spread of digits wrong."""
    final = [text for name, text in claims(path) if name == path.name]
    stated = [int(n) for sentence in final for n in SPREAD.findall(sentence)]
    runs = MEASURED[path.name]
    assert stated == [runs["wrong_max"] - runs["wrong_min"]], \
        f"say 'The seed alone moved the result by {runs['wrong_max'] - runs['wrong_min']} digits.'"


# --- numbers stated in the exercises and in 05's look back ---------------------------------------

RESULTS = json.loads((REPO / "benchmarks" / "results" / "accuracy.json").read_text())


def stated(run):
    """How the text states one run: its final accuracy as Keras prints it, and its mistakes."""
    return f"{run['val_accuracy'][-1]:.2%} ({run['wrong']} digits wrong)"


def seed_one(runs):
    return next(run for run in runs if run["seed"] == 1)


# (notebook, exercise): the runs its solution reports, each recorded by benchmarks/accuracy.py:
# an exercise variant (--variants NAME) or the notebook's own default run.
EXERCISE_RUNS = {
    ("01", 2): [("variant", "01_batch_1024"), ("notebook", "01_softmax.ipynb")],
    ("02", 1): [("variant", "02_sigmoid_adam"), ("variant", "02_relu_sgd")],
    ("02", 2): [("variant", "02_adam_lr_0.01"), ("notebook", "02_dense_layers.ipynb")],
    ("02", 3): [("variant", "02_one_hidden_layer"), ("notebook", "02_dense_layers.ipynb")],
    ("04", 2): [("variant", "04_fewer_filters"), ("notebook", "04_convolutions.ipynb")],
    ("05", 1): [("variant", "05_no_batch_norm"), ("notebook", "05_batch_norm.ipynb")],
    ("05", 2): [("variant median", "05_no_dropout"), ("notebook median", "05_batch_norm.ipynb")],
    ("05", 3): [("variant", "05_epochs_16"), ("notebook", "05_batch_norm.ipynb")],
}
NOT_EXERCISES = {"02_sigmoid_stalls", "03_decay_without_dropout",  # a notebook's other runs
                 "03_tenth_of_the_digits"}


def solution(number, exercise):
    nb = load(next(p for p in NOTEBOOKS if p.name.startswith(number)))
    return next(cell_text(c) for c in nb["cells"] if cell_text(c).startswith(f"**{exercise}. "))


@pytest.mark.parametrize("number, exercise", EXERCISE_RUNS, ids=lambda x: str(x))
def test_exercise_results_are_the_recorded_runs(number, exercise):
    """A solution that says what a change did quotes a recorded run of that change (seed 1), or
    the medians of its recorded runs ("... median", where three seeds were measured)."""
    text = solution(number, exercise)
    for kind, name in EXERCISE_RUNS[number, exercise]:
        if kind.startswith("variant"):
            record = RESULTS["variants"][name]
            assert 1 in record["seeds"] and record["notebook"].startswith(number)
        else:
            record = {**MEASURED[name], "runs": RESULTS["runs"][name]}
        if kind.endswith("median"):
            assert record["seeds"] == [1, 2, 3] and "seeds 1 to 3" in text
            quoted = f"{record['final_median']:.2%} ({record['wrong_median']} digits wrong)"
        else:
            quoted = stated(seed_one(record["runs"]))
        assert quoted in text, f"say {quoted!r} for {name}"


def test_dropouts_own_effect_states_the_recorded_validation_losses():
    """05 exercise 2: the final validation losses of the three runs with and without dropout,
    higher without it in every run, and the spread of the default runs' mistakes."""
    text = solution("05", 2)
    without = [run["val_loss"][-1] for run in RESULTS["variants"]["05_no_dropout"]["runs"]]
    with_dropout = [run["val_loss"][-1] for run in RESULTS["runs"]["05_batch_norm.ipynb"]]
    assert len(without) == len(with_dropout) == 3
    assert (f"({min(without):.4f} to {max(without):.4f}, against {min(with_dropout):.4f} to "
            f"{max(with_dropout):.4f} with it)") in text
    assert min(without) > max(with_dropout), "the text says: higher without dropout in every run"
    runs = MEASURED["05_batch_norm.ipynb"]
    assert f"({runs['wrong_min']} to {runs['wrong_max']} wrong)" in text


def test_batch_norms_own_effect_states_the_recorded_epochs():
    """05 exercise 1: seed 1's accuracy after epochs 1 and 4, the final losses, and the medians
    over three seeds, with and without batch normalisation."""
    text = solution("05", 1)
    record = RESULTS["variants"]["05_no_batch_norm"]
    without, default = seed_one(record["runs"]), seed_one(RESULTS["runs"]["05_batch_norm.ipynb"])
    for epoch, words in [(1, "after one epoch"), (4, "after four")]:
        a, b = without["val_accuracy"][epoch - 1], default["val_accuracy"][epoch - 1]
        assert f"{a:.2%} against {b:.2%} {words}" in text
        assert a < b, "the text says it learns more slowly"
    assert f"({without['val_loss'][-1]:.3f} against {default['val_loss'][-1]:.3f})" in text
    assert without["val_loss"][-1] > 2.5 * default["val_loss"][-1], "'three times as high'"
    assert record["seeds"] == [1, 2, 3]
    medians = f"{record['final_median']:.2%} against {MEASURED['05_batch_norm.ipynb']['final_median']:.2%}"
    assert f"over seeds 1 to 3, {medians} (medians)" in text


def test_the_variants_are_the_changes_their_exercises_show():
    from accuracy import VARIANTS
    runs = {name for runs in EXERCISE_RUNS.values() for kind, name in runs
            if kind.startswith("variant")}
    assert runs | NOT_EXERCISES == set(VARIANTS)
    for (number, exercise), names in EXERCISE_RUNS.items():
        for kind, name in names:
            if kind.startswith("variant"):
                assert VARIANTS[name][0] == number
                for _, new in VARIANTS[name][1]:
                    assert new.strip() in solution(number, exercise), (name, new)
                assert RESULTS["variants"][name]["changes"] == [list(c) for c in VARIANTS[name][1]]


def test_dropout_brings_the_validation_loss_back_down_as_recorded():
    """03: the decay run's validation loss climbs from its lowest; dropout's ends lower."""
    nb = load(NOTEBOOKS[2])
    assert any(cell_text(c).startswith("Dropout brings the validation loss back down")
               for c in nb["cells"])
    decay = seed_one(RESULTS["variants"]["03_decay_without_dropout"]["runs"])["val_loss"]
    dropout = seed_one(RESULTS["runs"]["03_decay_and_dropout.ipynb"])["val_loss"]
    assert decay[-1] > min(decay) + 0.005, "the decay run's validation loss climbs again"
    assert dropout[-1] < decay[-1] and dropout[-1] - min(dropout) < decay[-1] - min(decay)


def test_the_sigmoid_network_stalls_as_recorded():
    """02 says the sigmoid network stays at 10 to 11%, one answer for every digit."""
    nb = load(NOTEBOOKS[1])
    text = next(cell_text(c) for c in nb["cells"] if cell_text(c).startswith("## Training"))
    assert "stays at about 10 to 11%" in text
    run = seed_one(RESULTS["variants"]["02_sigmoid_stalls"]["runs"])
    assert len(run["val_accuracy"]) == 3 and all(0.10 <= a < 0.12 for a in run["val_accuracy"])
    # the share of the validation digits that are one digit, 7 and then 1 (1,135 of them)
    assert [round(a * 10_000) for a in run["val_accuracy"]] == [1028, 1028, 1135]
    assert "1,135 of the 10,000" in text


def test_the_look_back_states_each_notebooks_measured_mistakes():
    nb = load(NOTEBOOKS[-1])
    recap = next(cell_text(c) for c in nb["cells"] if cell_text(c).startswith("### Looking back"))
    rows = re.findall(r"^\| (\d\d) \|.*\| (\d[\d,]*) \|$", recap, re.M)
    assert [number for number, _ in rows] == ["01", "02", "03", "04", "05"]
    for number, count in rows:
        name = next(p.name for p in NOTEBOOKS if p.name.startswith(number))
        assert int(count.replace(",", "")) == MEASURED[name]["wrong_median"], name
    assert "median of our three runs" in recap
    assert all(len(MEASURED[p.name]["seeds"]) == 3 for p in NOTEBOOKS)


GLOSSARY = REPO / "notebooks" / "glossary.md"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_links_the_glossary(path):
    title = cell_text(load(path)["cells"][0])
    assert "](glossary.md)" in title
    assert "https://github.com/mnist-ladder/keras-mnist-ladder/blob/main/notebooks/glossary.md" in title


def test_the_glossary_defines_the_words_the_notebooks_introduce():
    """Every *word* a notebook's prose introduces in italics is in the glossary (or is one of a
    few names that are not terms)."""
    glossary = GLOSSARY.read_text().lower()
    not_terms = {"real world", "not a number", "all", "template", "pipeline", "hidden", "patch"}
    missing = set()
    for path in NOTEBOOKS:
        for cell in load(path)["cells"]:
            if cell["cell_type"] != "markdown":
                continue
            for term in re.findall(r"(?<![*\w])\*([a-z][a-z -]+)\*(?!\*)", cell_text(cell)):
                word = term.lower().removesuffix("s")  # "tensors", "overfits"
                if word not in glossary and term.lower() not in not_terms:
                    missing.add((path.name[:2], term))
    assert not missing, sorted(missing)


# --- issue 30: depth kept and added, and what a reviewer found --------------------------------

def cell_by_id(nb, cell_id):
    return next(cell_text(c) for c in nb["cells"] if c.get("id") == cell_id)


def test_01_takes_one_gradient_step_by_hand_and_checks_it_against_keras():
    """ŷ − y for softmax with cross-entropy, one SGD step by hand, compared with Keras' own step
    on a copy of the model, failing loudly if the weights differ (nbval runs it)."""
    nb = load(NOTEBOOKS[0])
    code = cell_by_id(nb, "step2")
    assert "(y_hat - batch_Y) / len(batch_X)" in code and "train_on_batch" in code
    assert "clone_model(model)" in code, "the step is taken on a copy: training is unchanged"
    assert re.search(r"^assert difference < 1e-5", code, re.M)
    assert r"\hat{y} - y" in cell_by_id(nb, "step1")
    assert "divides by 255" in markdown_after(nb, "Data")


def test_02_checks_the_initialisation_it_explains():
    nb = load(NOTEBOOKS[1])
    assert "not zeros" in cell_by_id(nb, "init1") and "Glorot" in cell_by_id(nb, "init1")
    assert "np.sqrt(6 / (784 + 200))" in cell_by_id(nb, "init2")


def test_04_names_the_keyword_arguments_and_shows_the_convolution_step_in_model():
    nb = load(NOTEBOOKS[3])
    assert "Conv2D(filters=12, kernel_size=6, strides=2, ...)" in markdown_after(nb, "Model")
    assert "show_convolution(model" in code_until(nb, "Training")


def test_05_says_what_keras_keeps_and_quotes_its_own_median_only():
    nb = load(NOTEBOOKS[4])
    prose = "\n".join(cell_text(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "means and variances" in markdown_after(nb, "Model")
    assert "moving averages of the means and standard deviations" not in prose
    assert "99.55" not in prose


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_typed_digits_show_only_the_mistakes_and_a_count(path):
    code = code_until(load(path), "<end>")
    assert "mnist_utils.show_mistakes(font_images, font_labels," in code
    assert "show_digits(font_images" not in code


def test_too_little_data_overfits_as_recorded():
    """03: the decay run on a tenth of the training digits (benchmarks/accuracy.py --variants
    03_tenth_of_the_digits) against the same run on all 60,000."""
    text = cell_by_id(load(NOTEBOOKS[2]), "small_data")
    tenth = seed_one(RESULTS["variants"]["03_tenth_of_the_digits"]["runs"])
    full = seed_one(RESULTS["variants"]["03_decay_without_dropout"]["runs"])
    assert f"{stated(tenth)} against {stated(full)}" in text
    assert RESULTS["variants"]["03_tenth_of_the_digits"]["changes"][0][1].count("6_000") == 2
    loss = tenth["val_loss"]
    assert "stops falling after three epochs" in text and min(loss[3:]) > loss[2] - 0.005
    assert f"at about {min(loss):.2f} ({full['val_loss'][-1]:.2f} with all 60,000)" in text
