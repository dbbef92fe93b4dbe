"""A learner's view, in a real browser: JupyterLab, then Notebook 7, run notebook 01 in headless
Chromium.

One run of the notebook checks what only a browser shows: the live plot updates one figure in
place while `fit` runs (Keras' progress bar stays beside it), no cell shows an error, and the
draw-a-digit pad answers a stroke drawn with the mouse. Needs Debian's chromium
(/usr/bin/chromium, or MNIST_CHROMIUM) and the playwright package; skipped without them unless
MNIST_BROWSER_TESTS=1 (CI) makes their absence an error. MNIST_SCREENSHOT_DIR=docs/images saves
the README's screenshots.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from helpers import CHROMIUM, CHROMIUM_FLAGS, browser_or_skip, free_port

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = "01_softmax.ipynb"
# Notebook 01 trains in full, as a learner runs it (about 20 s here): Keras' caps on epochs and
# steps print warnings that a learner never sees.
UNCAPPED = ("KERAS_MAX_EPOCHS", "KERAS_MAX_STEPS_PER_EPOCH")


FRONT_ENDS = {  # what a learner opens: the server's module, and the notebook's address there
    "JupyterLab": ("jupyterlab", "/lab/tree/"),
    "Notebook 7": ("notebook", "/notebooks/"),
}


@pytest.fixture(scope="module", params=list(FRONT_ENDS))
def front_end(request):
    return request.param


@pytest.fixture(scope="module")
def jupyterlab(front_end, tmp_path_factory, shared_mnist_dir):
    """JupyterLab (or Notebook 7) on 127.0.0.1 without a token, serving a copy of the notebook
    (the browser saves what it runs, and the repository's notebooks must stay without outputs)."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copy(REPO / "notebooks" / NOTEBOOK, root / NOTEBOOK)
    settings = root / ".settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    # Attach every cell to the page, also those scrolled out of view, so the test sees them all.
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    # No "get notified about Jupyter news?" pop-up over the screenshots.
    news = root / ".settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    env = {**{k: v for k, v in os.environ.items() if k not in UNCAPPED}, "MNIST_DATA_DIR": str(shared_mnist_dir), "MNIST_LIVE_PLOT": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
           "JUPYTERLAB_SETTINGS_DIR": str(root / ".settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(root / ".workspaces"),
           "JUPYTER_RUNTIME_DIR": str(root / ".runtime")}
    port = free_port()
    log = open(root / "jupyterlab.log", "w")
    module, path = FRONT_ENDS[front_end]
    quiet = (["--LabApp.news_url=", "--LabApp.extension_manager=readonly",
              "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
             if module == "jupyterlab" else [])
    server = subprocess.Popen(
        [sys.executable, "-m", module, "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--ServerApp.root_dir={root}", "--IdentityProvider.token=", "--ServerApp.password=",
         "--allow-root", *quiet],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"{front_end} did not start:\n" + (root / "jupyterlab.log").read_text())
                time.sleep(0.5)
        yield url + path
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def page(jupyterlab):
    sync_playwright = browser_or_skip()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(60_000)
        page.goto(jupyterlab + NOTEBOOK)
        page.locator(".jp-Notebook .jp-Cell").first.wait_for()
        page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for()
        yield page
        browser.close()


def _shoot(locator, name, front_end):
    folder = os.environ.get("MNIST_SCREENSHOT_DIR")
    if folder and front_end == "JupyterLab":  # the README's pictures
        locator.scroll_into_view_if_needed()
        locator.screenshot(path=str(Path(folder) / name))


@pytest.fixture(scope="module")
def run_all(page):
    """Run every cell from the Run menu; watch the training cell's figure while fit runs."""
    # The kernel must be ready, and the notebook focused, or the menu's command does nothing:
    # where nothing started, the learner would click again, and so does this test.
    for attempt in range(3):
        page.locator(".jp-Notebook .jp-Cell").first.click()
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        try:
            page.wait_for_function("""() => [...document.querySelectorAll('.jp-InputPrompt')]
                .some(prompt => /\\[[*0-9]/.test(prompt.textContent))""", timeout=15_000)
            break
        except Exception:
            if attempt == 2:
                raise
    training = page.locator(".jp-CodeCell", has_text="LivePlot(")
    frames, started = [], time.monotonic()
    pad = page.locator(".mnist-pad")
    while pad.count() == 0 and time.monotonic() - started < 240:
        sources = training.locator(".jp-OutputArea-output img").evaluate_all(
            "images => images.map(image => image.src)")
        if sources and (not frames or frames[-1] != sources[-1]):
            frames.append(sources[-1])
        time.sleep(0.1)
    pad.wait_for()
    page.wait_for_function("""() => [...document.querySelectorAll('.jp-InputPrompt')]
        .every(prompt => !prompt.textContent.includes('*'))""", timeout=120_000)
    return {"frames": frames, "training": training}


def test_live_plot_updates_one_figure_in_place(run_all, front_end):
    training = run_all["training"]
    assert len(set(run_all["frames"])) >= 3, "the live plot did not redraw while fit ran"
    assert training.locator(".jp-OutputArea-output img").count() == 1, "one figure, not several"
    text = training.locator(".jp-OutputArea").inner_text()
    assert "Epoch 10/10" in text and "━" in text, f"Keras' progress bar is missing:\n{text}"
    _shoot(training.locator(".jp-OutputArea"), "jupyterlab_live_plot.png", front_end)


def test_no_cell_shows_an_error_or_a_warning(run_all, page):
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    shown = [text for text in errors.all_inner_texts()
             if re.search(r"Error|Traceback|Warning", text)]
    assert not shown, "\n\n".join(shown)


def _probabilities(pad):
    return pad.locator(".mnist-pad-value").all_inner_texts()


def _stroke(page, canvas, points):
    box = canvas.bounding_box()
    at = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in points]
    page.mouse.move(*at[0])
    page.mouse.down()
    for point in at[1:]:
        page.mouse.move(*point, steps=12)
    page.mouse.up()


def test_drawing_a_digit_shows_probabilities_that_change(run_all, page, front_end):
    pad = page.locator(".mnist-pad")
    pad.scroll_into_view_if_needed()
    assert _probabilities(pad) == [""] * 10           # nothing drawn yet
    canvas = pad.locator(".mnist-pad-canvas")

    _stroke(page, canvas, [(0.5, 0.15), (0.5, 0.85)])                 # a 1
    page.wait_for_function("""() => [...document.querySelectorAll('.mnist-pad-value')]
        .every(value => value.textContent.endsWith('%'))""")
    first = _probabilities(pad)
    assert sum(float(p.rstrip("%")) for p in first) == pytest.approx(100, abs=1)

    _stroke(page, canvas, [(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)])   # a 7 over it
    page.wait_for_function("""first => JSON.stringify([...document.querySelectorAll('.mnist-pad-value')]
        .map(value => value.textContent)) !== JSON.stringify(first)""", arg=first)
    assert _probabilities(pad) != first
    preview = pad.locator(".mnist-pad-preview").evaluate(
        "canvas => canvas.getContext('2d').getImageData(0, 0, 28, 28).data.filter((v, i) => i % 4 == 0 && v > 0).length")
    assert 20 < preview < 28 * 28 / 2, "the 28x28 preview should show the drawing"
    _shoot(pad, "jupyterlab_draw_digit.png", front_end)

    pad.locator(".mnist-pad-clear").click()
    page.wait_for_function("""() => [...document.querySelectorAll('.mnist-pad-value')]
        .every(value => value.textContent === '')""")
