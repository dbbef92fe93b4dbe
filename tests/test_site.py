"""The course's website (tools/build_site.py): built once per test session in short mode, as CI
builds it (real notebooks in real kernels, real Sphinx), then opened in Debian's chromium over a
local HTTP server on 127.0.0.1. Also: a failing notebook fails the build and leaves the old site,
and the two GitHub workflows run commands that exist here (they cannot run here themselves).

The browser tests are gated like tests/test_browser.py (skipped without chromium and
Playwright, never under MNIST_BROWSER_TESTS=1, which .ci/run sets). MNIST_SITE=_site tests a site
built before (the full-length one) instead of building one; MNIST_SCREENSHOT_DIR=docs/images
then saves the README's pictures of it.
"""
import functools
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import nbformat
import pytest
import yaml
from build_site import site_url
from helpers import CHROMIUM, CHROMIUM_FLAGS, browser_or_skip, free_port
from notebook_code import notebook_paths
from sync_notebooks import COLAB_BADGE, KAGGLE_BADGE, notebook_links, page_url, repository_url

REPO = Path(__file__).resolve().parents[1]
BUILD_SITE = REPO / "tools" / "build_site.py"
NOTEBOOKS = [p.name for p in notebook_paths()]
DOCS = sorted(p.stem for p in (REPO / "notebooks").glob("*.md"))  # pages after the notebooks
SCORE = re.compile(r"Validation accuracy \d\d\.\d\d%: [\d,]+ of 10,000 digits")


def build(*args, cwd):
    return subprocess.run([sys.executable, str(BUILD_SITE), *map(str, args)], cwd=cwd, text=True,
                          capture_output=True, timeout=1200,
                          env={**os.environ, "PYTHONPATH": str(REPO)})


@pytest.fixture(scope="session")
def site(tmp_path_factory, shared_mnist_dir):
    """The site of the five notebooks, built once in short mode, as CI builds it; or, where
    MNIST_SITE names a folder, the site built there (e.g. the full-length _site/)."""
    if os.environ.get("MNIST_SITE"):
        return {"path": Path(os.environ["MNIST_SITE"]).resolve(), "stdout": None, "stderr": None}
    root = tmp_path_factory.mktemp("site")
    started = time.monotonic()
    done = build("--short", "--out", root / "_site", cwd=root)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    print(f"\nthe short site build took {time.monotonic() - started:.0f} s")
    return {"path": root / "_site", "stdout": done.stdout, "stderr": done.stderr}


def test_the_build_shows_progress_and_no_kernel_noise(site):
    if site["stdout"] is None:
        pytest.skip("MNIST_SITE: the site was built before this test session")
    for name in NOTEBOOKS:
        assert re.search(rf"^\[\d/5\] {name} · cell \d+/\d+ · epoch 2/2 · \d+:\d\d$",
                         site["stdout"], re.M), site["stdout"]
    terminal = site["stdout"] + site["stderr"]
    for noise in ("cuInit", "cuda_platform", "without encryption", "absl::", "cpu_feature_guard"):
        assert noise not in terminal


def test_the_home_page_has_the_ladder_results_backends_pictures_and_the_build(site):
    text = (site["path"] / "index.html").read_text()
    measured = json.loads((REPO / "benchmarks" / "results" / "accuracy.json").read_text())
    for name in NOTEBOOKS:
        assert f'href="{name.removesuffix(".ipynb")}.html"' in text
        assert f"{measured['notebooks'][name]['final_median']:.2%}" in text  # the ladder's column
    for table in ("side_by_side", "backend_epoch_time", "frontier"):  # the results, generated
        lines = (REPO / "benchmarks" / "results" / f"{table}.md").read_text().splitlines()
        first_row = lines[next(i for i, line in enumerate(lines) if line.startswith("|---")) + 1]
        assert first_row.split("|")[2].strip() in text, first_row
    assert "Colab, TPU runtime" in text  # the backend table
    for image in ("05_live_plot.png", "05_mistakes.png", "02_sigmoid_stalls.png"):
        assert (site["path"] / "_images" / image).is_file() and f"_images/{image}" in text
    build_line = re.search(r"Built \d{4}-\d\d-\d\d \d\d:\d\d UTC with Keras \S+ on \w+ [\d.]+;"
                           r" Python [\d.]+; \w+, \d+ CPU cores; seed 1; "
                           + ("full-length training" if os.environ.get("MNIST_SITE")
                              else "shortened for CI"), text)
    assert build_line, "the build's versions, machine, date and seed"


# In the browser.
@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(QuietHandler, directory=str(site["path"]))
    httpd = QuietServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):  # the browser moved on: fine
            super().handle_error(request, client_address)


@pytest.fixture(scope="module")
def browser(server):
    sync_playwright = browser_or_skip()
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


# The only things a page may fetch from outside the site: the two buttons' badges. CI has no
# network, so a stand-in badge answers for them; any other outside request is a problem (the site
# must not need a CDN).
BADGES = {url: text for text, url in
          (re.search(r"!\[(.+)\]\((.+)\)", badge).groups() for badge in (COLAB_BADGE, KAGGLE_BADGE))}


def stand_in_badge(text):
    width = 8 * len(text) + 16
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20">'
            f'<rect width="{width}" height="20" rx="3" fill="#555"/>'
            f'<text x="8" y="14" fill="#fff" font-family="sans-serif" font-size="11">{text}</text>'
            "</svg>")


@pytest.fixture
def page(browser, server):
    """A page that records console errors, every response of 400 or more and every request that
    leaves the site (other than the badges, answered by a stand-in)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(30_000)
    page.problems = []

    def outside(route):
        url = route.request.url
        if url in BADGES:
            route.fulfill(status=200, content_type="image/svg+xml", body=stand_in_badge(BADGES[url]))
        else:
            page.problems.append(f"outside the site: {url}")
            route.abort()

    page.route(lambda url: not url.startswith(server), outside)
    page.on("console", lambda m: page.problems.append(f"console: {m.text}")
            if m.type == "error" else None)
    page.on("pageerror", lambda err: page.problems.append(f"page error: {err}"))
    page.on("response", lambda r: page.problems.append(f"{r.status}: {r.url}")
            if r.status >= 400 else None)
    page.on("requestfailed", lambda r: page.problems.append(f"failed: {r.url}"))
    yield page
    page.close()


def open_page(page, url):
    page.goto(url)
    page.wait_for_load_state("networkidle")


def test_every_page_loads_cleanly_and_every_internal_link_and_image_resolves(page, server):
    pages, queue, resources, problems = set(), [server + "index.html"], set(), []
    while queue:
        url = queue.pop()
        if url in pages:
            continue
        pages.add(url)
        page.problems.clear()
        open_page(page, url)
        problems += [f"{url}: {p}" for p in page.problems]
        broken = page.eval_on_selector_all(
            "img", "images => images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
        problems += [f"{url}: image not shown: {src}" for src in broken]
        targets = page.eval_on_selector_all(
            "a[href], img[src], link[href], script[src]",
            "nodes => nodes.map(n => n.href || n.src)")
        for target in targets:
            target = urllib.parse.urldefrag(target).url
            if not target.startswith(server):
                continue  # Colab, Kaggle, GitHub: not served here
            if target.endswith(".html") or target == server:
                queue.append(target if target != server else server + "index.html")
            else:
                resources.add(target)
    for url in sorted(resources):
        try:
            urllib.request.urlopen(url, timeout=10).close()
        except urllib.error.URLError as err:
            problems.append(f"{url}: {err}")
    assert not problems, "\n".join(problems)
    names = {url.removeprefix(server) for url in pages}
    assert {f"{n.removesuffix('.ipynb')}.html" for n in NOTEBOOKS} <= names
    assert {"index.html", "search.html"} <= names and {f"{d}.html" for d in DOCS} <= names


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_each_notebook_page_shows_its_plots_its_score_and_its_buttons(page, server, name):
    # the page that the notebook's header links to ("See outputs")
    published = page_url(repository_url(), name)
    assert published.startswith(site_url(repository_url()))
    open_page(page, server + published.removeprefix(site_url(repository_url())))
    assert page.locator(f'a[href="{published}"]').count() == 0, "the page links to itself"
    plots = page.locator(".cell_output img")
    assert plots.count() >= 4, "the digits, the training curves, the mistakes, the confusion matrix"
    assert all(plots.nth(i).evaluate("i => i.naturalWidth > 0") for i in range(plots.count()))
    assert SCORE.search(page.locator("article").inner_text()), "the final score is printed"
    alts = [plots.nth(i).get_attribute("alt") or "" for i in range(plots.count())]
    assert all(len(alt) > 20 and not alt.endswith(".png") for alt in alts), alts  # not a file name
    buttons = {link.get_attribute("data-button"): link.get_attribute("href")
               for link in page.locator(".course-buttons a").all()}
    assert buttons == notebook_links(repository_url(), name)
    assert page.locator(".course-buttons").is_visible()
    assert page.locator("[class*=widget]").count() == 0, "an empty widget box"
    if "draw_digit(model)" in (REPO / "notebooks" / name).read_text():
        pad = page.locator(".cell", has_text="draw_digit(model)")
        assert pad.locator(".cell_output img").count() == 1, "a still of the pad"
        assert "drawing needs a running notebook" in pad.inner_text()


def test_the_formulas_on_01s_page_are_typeset_by_mathjax_served_from_the_site(page, server):
    """MyST's dollarmath turns $…$ and $$…$$ into formulas; MathJax, copied into the site by
    sphinx-mathjax-offline, typesets them (the page fixture fails any request outside the site,
    so MathJax from a CDN would fail here)."""
    notebook = nbformat.read(REPO / "notebooks" / "01_softmax.ipynb", as_version=4)
    text = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    formulas = re.findall(r"\$\$.+?\$\$|\$[^$\n]+\$", text)
    assert len(formulas) >= 5 and any(f.startswith("$$") for f in formulas), formulas
    open_page(page, server + "01_softmax.html")
    scripts = page.locator("script[src*='mathjax']")
    assert scripts.count() == 1, "no MathJax on the page: no formulas there (dollarmath?)"
    mathjax = urllib.parse.urljoin(server, scripts.get_attribute("src"))
    assert mathjax.startswith(server), f"MathJax from outside the site: {mathjax}"
    page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise")
    page.evaluate("() => MathJax.startup.promise")        # MathJax has typeset the page
    assert page.locator("mjx-container").count() >= len(formulas)
    assert page.locator("mjx-container[display='true']").count() >= 1  # the softmax formula
    article = page.locator("article").inner_text()
    for raw in ("$", "\\frac", "\\sum", "\\(", "\\["):
        assert raw not in article, f"{raw!r}: a formula left as text"
    assert not page.problems, page.problems


def test_every_figure_in_the_executed_notebooks_has_alt_text(site):
    """The executed notebooks the site offers (download button): every picture carries alt text
    in Jupyter's image metadata, which the pages put in <img alt> (checked in the browser)."""
    for name in NOTEBOOKS:
        notebook = nbformat.read(site["path"] / "_sources" / name, as_version=4)
        images = [out for cell in notebook.cells if cell.cell_type == "code"
                  for out in cell.outputs if "image/png" in out.get("data", {})]
        assert len(images) >= 4, name
        alts = [out.get("metadata", {}).get("image/png", {}).get("alt", "") for out in images]
        assert all(len(alt.strip()) > 20 for alt in alts), (name, alts)


def test_screenshots_of_the_home_page_and_notebook_05(page, server):
    """The README's pictures of the site, where MNIST_SCREENSHOT_DIR names a folder."""
    folder = os.environ.get("MNIST_SCREENSHOT_DIR")
    if not folder:
        pytest.skip("MNIST_SCREENSHOT_DIR is not set")
    open_page(page, server + "index.html")
    page.screenshot(path=str(Path(folder) / "site_home.png"))
    open_page(page, server + "05_batch_norm.html")
    training = page.locator(".cell", has_text="model.fit(")
    training.evaluate("cell => cell.scrollIntoView()")
    page.screenshot(path=str(Path(folder) / "site_05.png"))


def test_previous_and_next_follow_the_ladder(page, server):
    ladder = ["index"] + [n.removesuffix(".ipynb") for n in NOTEBOOKS] + DOCS
    seen, url = [], server + "index.html"
    while True:
        open_page(page, url)
        seen.append(url.removeprefix(server).removesuffix(".html"))
        following = page.locator("a.right-next")
        if not following.count():
            break
        url = urllib.parse.urljoin(url, following.get_attribute("href"))
    assert seen == ladder
    open_page(page, server + ladder[1] + ".html")
    previous = page.locator("a.left-prev").get_attribute("href")
    assert urllib.parse.urljoin(server, previous) == server + "index.html"


def test_the_search_finds_batch_normalisation(page, server):
    assert "batch normalisation" in (REPO / "notebooks" / "05_batch_norm.ipynb").read_text().lower()
    open_page(page, server + "search.html?q=batch+normalisation")
    results = page.locator("#search-results ul.search li a")
    results.first.wait_for()
    found = {link.get_attribute("href").split("?")[0].split("#")[0] for link in results.all()}
    assert "05_batch_norm.html" in found


# Failures.
def test_a_failing_notebook_fails_the_build_by_name_and_cell_and_keeps_the_old_site(tmp_path):
    broken = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Broken\n\n## Setup"), nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_markdown_cell("## Training"),
        nbformat.v4.new_code_cell("raise ValueError('a learner typo')")])
    nbformat.write(broken, tmp_path / "broken.ipynb")
    old = tmp_path / "_site"
    old.mkdir()
    (old / "index.html").write_text("the good site")
    done = build("--short", "--out", old, tmp_path / "broken.ipynb", cwd=tmp_path)
    assert done.returncode == 1
    assert ("broken.ipynb stopped at cell 4 of 4 (Training: raise ValueError('a learner typo')): "
            "ValueError: a learner typo") in done.stderr
    assert [p.name for p in old.iterdir()] == ["index.html"]
    assert (old / "index.html").read_text() == "the good site"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_site", "broken.ipynb"]  # no leftovers


def test_a_bad_out_folder_is_refused_before_anything_runs(tmp_path):
    (tmp_path / "_site").write_text("not a folder")
    done = build("--out", tmp_path / "_site", cwd=tmp_path)
    assert done.returncode == 2 and "is a file; name a folder" in done.stderr


# Publishing: the README's command and link, and the two workflows (which only GitHub runs).
README = (REPO / "README.md").read_text()
WORKFLOWS = REPO / ".github" / "workflows"


def workflow(name):
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


def commands(data):
    return [step["run"] for job in data["jobs"].values() for step in job["steps"] if "run" in step]


def test_the_readme_names_the_build_command_and_links_to_the_site():
    assert "\npython tools/build_site.py\n" in README
    assert site_url(repository_url()) in README
    assert site_url("https://github.com/Mnist-Ladder/keras-mnist-ladder") == \
        "https://mnist-ladder.github.io/keras-mnist-ladder/"


def test_the_pages_workflow_builds_the_full_site_and_deploys_it():
    data = workflow("site.yml")
    assert "push" in data["on"] and "workflow_dispatch" in data["on"]
    assert data["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    steps = [step.get("uses", "").split("@")[0] for job in data["jobs"].values()
             for step in job["steps"]]
    assert {"actions/upload-pages-artifact", "actions/deploy-pages"} <= set(steps)
    run = "\n".join(commands(data))
    assert "python tools/build_site.py\n" in run + "\n" and "--short" not in run  # full length
    extras = re.search(r"pip install (?:-q )?-e \"\.\[([\w,]+)\]\"", run).group(1).split(",")
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert {"site", "tensorflow"} <= set(extras) <= set(declared)
    for path in re.findall(r"\b(?:tools|benchmarks|\.ci)/[\w./]+", run):
        assert (REPO / path).exists(), path
    upload = next(step for job in data["jobs"].values() for step in job["steps"]
                  if step.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "_site"  # where build_site.py writes by default


def test_the_ci_workflow_runs_ci_run_on_pushes_and_pull_requests():
    data = workflow("ci.yml")
    assert {"push", "pull_request"} <= set(data["on"])
    run = "\n".join(commands(data))
    assert "bash .ci/run" in run and (REPO / ".ci" / "run").is_file()
    for path in re.findall(r"\b(?:tools|benchmarks)/[\w./]+", run):
        assert (REPO / path).exists(), path
