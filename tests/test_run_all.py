"""tools/run_all.py, the teacher's run-all: real notebooks in real kernels (Keras' caps from
conftest.py keep them short), real HTML, and what the terminal shows meanwhile."""
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
from notebook_code import Progress

REPO = Path(__file__).resolve().parents[1]
RUN_ALL = REPO / "tools" / "run_all.py"
# What the kernels print when they start, which a teacher's terminal must not show.
KERNEL_NOISE = ("cuInit", "cuda_platform", "cudart_stub", "cpu_feature_guard", "absl::",
                "without encryption", "IPKernelApp")


def run_all(*args, cwd):
    return subprocess.run([sys.executable, str(RUN_ALL), *map(str, args)], cwd=cwd, text=True,
                          capture_output=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(REPO)})


def test_a_report_of_executed_notebooks_and_a_summary_even_when_one_fails(
        tmp_path, shared_mnist_dir):
    broken = nbformat.read(REPO / "notebooks" / "01_softmax.ipynb", as_version=4)
    broken.cells.insert(5, nbformat.v4.new_code_cell("raise ValueError('a learner typo')"))
    nbformat.write(broken, tmp_path / "broken.ipynb")
    done = run_all("--out", tmp_path / "report", REPO / "notebooks" / "01_softmax.ipynb",
                   tmp_path / "broken.ipynb", cwd=tmp_path)
    assert done.returncode == 1, done.stderr[-3000:]
    report = tmp_path / "report"
    assert sorted(p.name for p in report.iterdir()) == [
        "01_softmax.html", "broken.html", "index.html", "summary.json"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no leftovers

    good, failed = json.loads((report / "summary.json").read_text())
    cells = len(nbformat.read(REPO / "notebooks" / "01_softmax.ipynb", as_version=4).cells)
    assert re.fullmatch(r"\d\d\.\d\d%", good["accuracy"]) and good["error"] is None
    assert good["epochs"] == 2  # conftest.py's KERAS_MAX_EPOCHS reaches the kernels
    assert failed["error"] == "ValueError: a learner typo" and failed["accuracy"] is None
    where = f"cell 6 of {len(broken.cells)} (Parameters: raise ValueError('a learner typo'))"
    assert failed["cell"] == where
    page = (report / "index.html").read_text()
    assert "01 · One softmax layer" in page and good["accuracy"] in page
    assert f"failed at {where}: ValueError: a learner typo".replace("'", "&#x27;") in page
    assert "href='01_softmax.html'" in page and "href='broken.html'" in page
    executed = (report / "01_softmax.html").read_text()
    assert executed.count("data:image/png;base64") >= 3  # the plots, embedded
    assert "Validation accuracy" in executed
    assert "a learner typo" in (report / "broken.html").read_text()  # written up to the error

    # While they ran: which notebook, which cell, each epoch, the time so far; then a summary
    # line each, naming the failed cell. Nothing of the kernels' start-up.
    for epoch in (1, 2):
        assert re.search(rf"^\[1/2\] 01_softmax\.ipynb · cell \d+/{cells} · epoch {epoch}/2 · \d+:\d\d$",
                         done.stdout, re.M), done.stdout
    assert re.search(rf"^broken\.ipynb: no accuracy, \d+ s, FAILED at {re.escape(where)}: "
                     "ValueError: a learner typo$", done.stdout, re.M), done.stdout
    for noise in KERNEL_NOISE:
        assert noise not in done.stdout + done.stderr, noise


def test_a_bad_out_folder_is_refused_before_anything_runs(tmp_path):
    (tmp_path / "report").write_text("not a folder")
    done = run_all("--out", tmp_path / "report", cwd=tmp_path)
    assert done.returncode == 2
    assert "is a file; name a folder" in done.stderr
    done = run_all("--out", tmp_path / "no" / "such" / "report", cwd=tmp_path)
    assert done.returncode == 2 and "parent folder must exist" in done.stderr
    done = run_all("--out", tmp_path / "r", tmp_path / "missing.ipynb", cwd=tmp_path)
    assert done.returncode == 2 and "no such notebook" in done.stderr


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_on_a_terminal_progress_is_one_line_redrawn_with_cell_epoch_step_and_time():
    screen = Terminal()
    progress = Progress(screen, total=5)
    progress.start("05_batch_norm.ipynb", 31)
    progress.cell_started(14)
    progress.output("Epoch 3/10\n")
    progress.output("\r 120/469 ━━━━━━━━━━━━━━━━━━━━ 5s 11ms/step - accuracy: 0.9")
    progress.finish("05_batch_norm.ipynb: 99.50%, 180 s")
    shown = screen.getvalue()
    assert "\n" not in shown.removesuffix("\n")  # one line, redrawn in place
    redraws = shown.split("\r\x1b[K")
    assert "[1/5] 05_batch_norm.ipynb · cell 15/31 · epoch 3/10, step 120/469 · 0:00" in redraws
    assert redraws[-1] == "05_batch_norm.ipynb: 99.50%, 180 s\n"


def test_in_a_log_progress_is_one_line_per_epoch():
    log = io.StringIO()
    progress = Progress(log, total=1)
    progress.start("01_softmax.ipynb", 32)
    progress.cell_started(15)
    for epoch in (1, 2):
        progress.output(f"Epoch {epoch}/2\n")
        progress.output("\r 10/30 ━━━━━━━━━━")
    progress.finish("01_softmax.ipynb: 84.36%, 35 s")
    assert log.getvalue() == ("[1/1] 01_softmax.ipynb · cell 16/32 · epoch 1/2 · 0:00\n"
                              "[1/1] 01_softmax.ipynb · cell 16/32 · epoch 2/2 · 0:00\n"
                              "01_softmax.ipynb: 84.36%, 35 s\n")
