"""tools/notebook_images.py: the pictures of docs/images, copied out of executed notebooks.

The table is checked against today's notebooks; then one real short run: notebook 01 executed
by the tool itself with the tests' Keras caps (conftest.py), its pictures written with
--allow-short, and the same executed notebook refused without it, or with a cell gone.
"""
import base64
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import notebook_images
import pytest
from notebook_images import PICTURES

REPO = Path(__file__).resolve().parents[1]
TOOL = REPO / "tools" / "notebook_images.py"
IMAGES = REPO / "docs" / "images"

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SCREENSHOTS = re.compile(r"^(jupyterlab|site)_")  # browser screenshots, made by the browser tests
COMMAND = "python tools/build_site.py && python tools/notebook_images.py --from _site/_sources"


def tool(*args, env=None):
    return subprocess.run([sys.executable, str(TOOL), *map(str, args)], text=True,
                          capture_output=True, timeout=900,
                          env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})


# The table.
def test_every_picture_is_a_cell_of_a_notebook_that_draws_it():
    for name, picture in PICTURES.items():
        assert name.startswith(picture.notebook[:3]), name  # 05_… comes from notebook 05
        nb = nbformat.read(REPO / "notebooks" / picture.notebook, as_version=4)
        cell = next((c for c in nb.cells if c.get("id") == picture.cell), None)
        assert cell is not None, f"{name}: {picture.notebook} has no cell {picture.cell!r}"
        assert cell.cell_type == "code", name
        assert notebook_images.DRAWS.search(cell.source), f"{name}: {cell.source!r} draws nothing"
        if "LivePlot" in cell.source:
            assert picture.image == -1, f"{name}: a live plot's picture is its last image"


def test_every_picture_of_docs_images_is_in_the_table_and_the_readme_shows_only_those():
    drawn = {path.stem for path in IMAGES.glob("*.png") if not SCREENSHOTS.match(path.name)}
    assert drawn == set(PICTURES), "docs/images and PICTURES disagree"
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    shown = set(re.findall(r"\]\(docs/images/([\w.]+)\.png\)", readme))
    assert shown and {name for name in shown if not SCREENSHOTS.match(name)} <= set(PICTURES)
    for name in shown:
        assert (IMAGES / f"{name}.png").is_file(), name


def test_the_readme_says_how_to_remake_the_pictures():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"\n{COMMAND}\n" in readme
    assert "notebook_images.py" in readme.split("## Project layout", 1)[1]
    assert "insides_images" not in readme and not (REPO / "tools" / "insides_images.py").exists()


def executed_cell(fit_epochs, printed, source=None):
    cell = nbformat.v4.new_code_cell(source or f"history = model.fit(data, epochs={fit_epochs})")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed)]
    return cell


def epochs_printed(epochs, of, steps):
    bar = f"\x1b[1m{steps}/{steps}\x1b[0m \x1b[32m━━━━━\x1b[0m - loss: 0.1"  # as Keras prints it
    return "".join(f"Epoch {k}/{of}\n{bar}\n" for k in range(1, epochs + 1))


def test_short_training_is_told_by_the_epochs_and_the_steps_printed():
    def notebook(*cells):
        nb = nbformat.v4.new_notebook()
        parameters = nbformat.v4.new_code_cell("SEED = 1\nEPOCHS = 10\nSIGMOID_EPOCHS = 3")
        data = executed_cell(None, "batch_images: (128, 28, 28, 1)  batch_labels: (128, 10)\n",
                             source="print(...)")
        nb.cells = [parameters, data, *cells]
        return nb

    sigmoid = "sigmoid_model.fit(\n    data,\n    epochs=SIGMOID_EPOCHS,\n    callbacks=[f()],\n)"
    full = notebook(executed_cell("EPOCHS", epochs_printed(10, 10, 468)),
                    executed_cell(None, epochs_printed(3, 3, 468), source=sigmoid))
    assert notebook_images.short_training(full) == []
    capped_epochs = notebook(executed_cell("EPOCHS", epochs_printed(2, 2, 468)))
    assert "trained 2 epoch(s) of 2 ('Epoch 2/2'), the notebook asks for EPOCHS = 10" in \
        notebook_images.short_training(capped_epochs)[0]
    capped_steps = notebook(executed_cell("EPOCHS", epochs_printed(10, 10, 30)))
    assert "epochs of 30 steps of 128 digits" in notebook_images.short_training(capped_steps)[0]
    nothing = notebook(executed_cell("EPOCHS", ""))
    assert "printed no 'Epoch k/N' line" in notebook_images.short_training(nothing)[0]


def test_a_picture_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    target = tmp_path / "01_logits_softmax.png"
    target.write_bytes(b"the previous picture")

    def broken_rename(source, destination):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_rename)
    with pytest.raises(OSError), notebook_images.write_atomically(target) as file:
        file.write(PNG_MAGIC + b"new")
    assert target.read_bytes() == b"the previous picture"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no temporary file left


# One real short run of notebook 01, shared by the tests below.
@pytest.fixture(scope="module")
def short_run(tmp_path_factory, shared_mnist_dir):
    """Notebook 01 executed by the tool with the tests' caps; its pictures and the notebook."""
    root = tmp_path_factory.mktemp("notebook_images")
    done = tool("01", "--allow-short", "--out", root / "images", "--keep", root / "executed",
                env={"MNIST_DATA_DIR": str(shared_mnist_dir), "KERAS_MAX_EPOCHS": "2",
                     "KERAS_MAX_STEPS_PER_EPOCH": "30"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return {"root": root, "done": done}


def pictures_of(notebook):
    return {name: picture for name, picture in PICTURES.items() if picture.notebook == notebook}


def test_the_pictures_are_the_cells_images(short_run):
    root, done = short_run["root"], short_run["done"]
    ours = pictures_of("01_softmax.ipynb")
    assert sorted(p.name for p in (root / "images").iterdir()) == sorted(f"{n}.png" for n in ours)
    nb = nbformat.read(root / "executed" / "01_softmax.ipynb", as_version=4)
    cells = {cell.get("id"): cell for cell in nb.cells}
    for name, picture in ours.items():
        png = (root / "images" / f"{name}.png").read_bytes()
        assert png.startswith(PNG_MAGIC) and len(png) > 10_000, name
        images = [o for o in cells[picture.cell].outputs if "image/png" in o.get("data", {})]
        assert png == base64.b64decode(images[picture.image]["data"]["image/png"]), name
        assert f"{name}.png  (01_softmax.ipynb, cell {picture.cell}: " in done.stdout
    # It ran the notebook itself, showing its progress, with the caps it was allowed.
    assert re.search(r"^\[1/1\] 01_softmax\.ipynb · cell \d+/\d+ · epoch 2/2 · \d+:\d\d$",
                     done.stdout, re.M), done.stdout
    assert re.search(r"^01_softmax\.ipynb: \d\d\.\d\d%, \d+ s$", done.stdout, re.M)


def test_a_short_run_is_refused_without_allow_short(short_run, tmp_path):
    done = tool("--from", short_run["root"] / "executed", "--out", tmp_path / "images", "01")
    assert done.returncode == 2
    assert "not trained at full length" in done.stderr
    assert "01_softmax.ipynb: cell '8602a8b6' trained 2 epoch(s) of 2 ('Epoch 2/2'), the " \
           "notebook asks for EPOCHS = 10" in done.stderr
    assert "--allow-short" in done.stderr
    assert not (tmp_path / "images").exists()  # nothing written
    done = tool("--from", short_run["root"] / "executed", "--out", tmp_path / "images",
                "--allow-short", "01")
    assert done.returncode == 0, done.stderr
    assert sorted(p.stem for p in (tmp_path / "images").iterdir()) == sorted(
        pictures_of("01_softmax.ipynb"))


@pytest.mark.parametrize("break_it, says", [
    ("rename", "01_logits_softmax.png: 01_softmax.ipynb has no code cell with id 'insides2'"),
    ("clear", "01_logits_softmax.png: cell 'insides2' of 01_softmax.ipynb has no image output"),
])
def test_a_missing_cell_or_image_is_an_error_naming_them_and_nothing_is_written(
        short_run, tmp_path, break_it, says):
    nb = nbformat.read(short_run["root"] / "executed" / "01_softmax.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.get("id") == "insides2")
    if break_it == "rename":
        cell.id = "renamed"
    else:
        cell.outputs = []
    (tmp_path / "executed").mkdir()
    nbformat.write(nb, tmp_path / "executed" / "01_softmax.ipynb")
    out = tmp_path / "images"
    out.mkdir()
    (out / "01_weight_templates.png").write_bytes(b"the previous picture")
    done = tool("--from", tmp_path / "executed", "--out", out, "--allow-short", "01")
    assert done.returncode == 2
    assert says in done.stderr, done.stderr
    assert [p.name for p in out.iterdir()] == ["01_weight_templates.png"]  # nothing written
    assert (out / "01_weight_templates.png").read_bytes() == b"the previous picture"


def test_the_command_line_is_checked_before_anything_runs(tmp_path):
    done = tool("--from", tmp_path / "missing", "01")
    assert done.returncode == 2 and "no such folder" in done.stderr
    done = tool("--from", tmp_path, "07")
    assert done.returncode == 2 and "no notebook '07' has pictures" in done.stderr
    done = tool("--from", tmp_path, "--out", tmp_path / "images", "01")
    assert done.returncode == 2 and "has no 01_softmax.ipynb" in done.stderr
    assert not (tmp_path / "images").exists()
