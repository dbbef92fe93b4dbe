"""tools/run_all.py, the teacher's run-all: real notebooks in real kernels (Keras' caps from
conftest.py keep them short), real HTML."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
RUN_ALL = REPO / "tools" / "run_all.py"


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
    assert re.fullmatch(r"\d\d\.\d\d%", good["accuracy"]) and good["error"] is None
    assert good["epochs"] == 2  # conftest.py's KERAS_MAX_EPOCHS reaches the kernels
    assert failed["error"] == "ValueError: a learner typo" and failed["accuracy"] is None
    page = (report / "index.html").read_text()
    assert "01 · One softmax layer" in page and good["accuracy"] in page
    assert "failed: ValueError: a learner typo" in page
    assert "href='01_softmax.html'" in page and "href='broken.html'" in page
    executed = (report / "01_softmax.html").read_text()
    assert executed.count("data:image/png;base64") >= 3  # the plots, embedded
    assert "Validation accuracy" in executed
    assert "a learner typo" in (report / "broken.html").read_text()  # written up to the error


def test_a_bad_out_folder_is_refused_before_anything_runs(tmp_path):
    (tmp_path / "report").write_text("not a folder")
    done = run_all("--out", tmp_path / "report", cwd=tmp_path)
    assert done.returncode == 2
    assert "is a file; name a folder" in done.stderr
    done = run_all("--out", tmp_path / "no" / "such" / "report", cwd=tmp_path)
    assert done.returncode == 2 and "parent folder must exist" in done.stderr
    done = run_all("--out", tmp_path / "r", tmp_path / "missing.ipynb", cwd=tmp_path)
    assert done.returncode == 2 and "no such notebook" in done.stderr
