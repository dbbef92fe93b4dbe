"""Build the course as a static website: the five notebooks executed, with their outputs.

    python tools/build_site.py               # full-length training; writes _site/
    python tools/build_site.py --short       # CI: 2 epochs of 30 steps (Keras' caps)
    python tools/build_site.py --out DIR [NOTEBOOK ...]

Each notebook runs top to bottom in a fresh kernel (tools/notebook_code.py, as the teacher's
run-all runs them), then Sphinx with MyST-NB and sphinx-book-theme (book/conf.py) renders the
executed notebooks without running them again, after a home page made here: the ladder, the
measured results (benchmarks/report.py), where the series runs, the pictures, and the build's
own line (versions, machine, date, seeds). Each notebook page gets a button bar (Colab, Kaggle,
GitHub, download) from pyproject's Repository URL, and the draw-a-digit pad, which needs a
running kernel, becomes a still of it. Every notebooks/*.md is a page after the notebooks.
The pages typeset the notebooks' formulas ($…$) with MathJax served from the site itself, and
every figure keeps the alt text mnist_utils gave it (book/conf.py).

A failing notebook stops the build, naming the notebook and the cell. Everything is built in a
temporary folder next to --out and renamed into place at the end, so a failed or stopped build
leaves the previous site as it was.
"""
import argparse
import base64
import datetime
import html
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from notebook_code import Progress, check_notebooks_and_out, execute
from sync_notebooks import notebook_links, repository_url, site_url

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
IMAGES = ROOT / "docs" / "images"
DRAW_STILL = IMAGES / "jupyterlab_draw_digit.png"
SHORT = {"KERAS_MAX_EPOCHS": "2", "KERAS_MAX_STEPS_PER_EPOCH": "30"}  # as conftest.py sets
WIDGET = "application/vnd.jupyter.widget-view+json"
# The notebook's line of badges (Colab, Kaggle, the site): the page has its button bar instead.
BADGES_LINE = re.compile(r"^\[!\[Open In Colab\]\(.*$", re.M)
VERSIONS = re.compile(r"^(Keras \S+ on .+)$", re.M)  # what mnist_utils.versions() prints
SEED = re.compile(r"^SEED = (\d+)", re.M)
BUTTONS = [("colab", "Run in Colab"), ("kaggle", "Run on Kaggle"),
           ("github", "View source on GitHub"), ("download", "Download notebook")]

sys.path.insert(0, str(ROOT / "benchmarks"))
import report  # noqa: E402  - the README's results section, table for table


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to build (default: the five in notebooks/)")
    parser.add_argument("--out", type=Path, default=ROOT / "_site",
                        help="folder for the site (default: _site/ in the repository)")
    parser.add_argument("--short", action="store_true",
                        help="train 2 epochs of 30 steps, as the tests do (for CI)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds allowed per cell")
    return check_notebooks_and_out(parser, parser.parse_args(argv), ROOT / "notebooks", "the site")


# The notebook pages.
def button_bar(repo_url, name):
    links = notebook_links(repo_url, name)
    buttons = "".join(f'<a class="course-button" data-button="{key}" href="{html.escape(links[key])}">'
                      f"{label}</a>" for key, label in BUTTONS)
    return f'<div class="course-buttons">{buttons}</div>'


def still_of_the_pad():
    """The pad's outputs on a static page: a still of it, and where to try it."""
    png = base64.b64encode(DRAW_STILL.read_bytes()).decode()
    # what docs/images/jupyterlab_draw_digit.png shows: change it with the picture
    alt = ("A still of the draw-a-digit pad: a 7 drawn in white on black, the 28×28 picture "
           "the model sees, and the model's probability for each digit, 7 the highest (84.7%).")
    return [nbformat.v4.new_output("display_data", {"image/png": png},
                                   metadata={"image/png": {"alt": alt}}),
            nbformat.v4.new_output("display_data", {"text/markdown": (
                "*A still of the pad: drawing needs a running notebook. Open this notebook in "
                "Colab (the button at the top) or in Jupyter, run it, and draw your own digit "
                "here.*"), "text/plain": "A still of the draw-a-digit pad."})]


def page_of(nb, name, repo_url):
    """The executed notebook as the site shows it: a button bar under the title (instead of
    the line of badges and the link to this very page), and a still where a widget needs a
    kernel."""
    nb = nbformat.from_dict(nb)
    nb.metadata.pop("widgets", None)  # no widget state: nothing on the page loads widget code
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("# "):
            title, _, rest = cell.source.partition("\n")
            rest = BADGES_LINE.sub("", rest).strip("\n")
            cell.source = f"{title}\n\n{button_bar(repo_url, name)}\n\n{rest}"
            break
    for cell in nb.cells:
        if cell.cell_type == "code" and any(WIDGET in out.get("data", {}) for out in cell.outputs):
            cell.outputs = still_of_the_pad()
    return nb


# The home page.
def readme_section(readme, heading):
    """The text under `## heading` in README.md, up to the next `## `."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", readme, re.M | re.S)
    if not match:
        raise SystemExit(f"README.md has no section '## {heading}', which the home page shows")
    return match.group(1).strip().replace("](docs/images/", "](images/")


def first_table(text):
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return "\n".join(lines[start:end])


def ladder(readme, pages):
    """One row per notebook: what it teaches (README's table), what it reached in the measured
    runs (benchmarks/results/accuracy.json), and what it reached in this build."""
    ideas = dict(re.findall(r"\]\(notebooks/(\S+?\.ipynb)\) \| ([^|]+?) \|", readme))
    measured = json.loads((report.RESULTS / "accuracy.json").read_text())["notebooks"]
    rows = ["| Notebook | What it teaches | Measured: final validation accuracy | This build |",
            "|---|---|---|---|"]
    for page in pages:
        result = measured.get(page["name"])
        reached = (f"{result['final_median']:.2%} (median of {len(result['seeds'])} seeds)"
                   if result else "not measured")
        rows.append(f"| [{page['title']}]({page['name']}) | {ideas.get(page['name'], '')} | "
                    f"{reached} | {page['accuracy'] or '–'} |")
    return "\n".join(rows)


def home_page(pages, build_line, docs):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    intro = readme.split("\n\n")[1]  # the paragraph under the title
    results = "\n".join(report.section(*section) for section in report.SECTIONS)
    toctree = "\n".join(page["name"].removesuffix(".ipynb") for page in pages)
    toctree += "".join(f"\n{doc.stem}" for doc in docs)
    return f"""# {readme.splitlines()[0].removeprefix("# ")}

{intro}

## The ladder

Five notebooks, one idea each; every page shows the notebook as it ran for this site, with its
plots and scores, and a button bar to run it yourself.

{ladder(readme, pages)}

## What the notebooks show

{readme_section(readme, "What the notebooks show")}

## Where the series runs

{first_table(readme_section(readme, "Keras on every backend"))}

## Measured results

Measured by the scripts under `benchmarks/` (their results are in `benchmarks/results/`):

{results}

## About this build

{build_line}

```{{toctree}}
:hidden:
:maxdepth: 1

{toctree}
```
"""


def build_line(runs, short):
    """Versions, machine, date and seeds of this build, as the kernels reported them."""
    texts = "\n".join(run.text for run in runs)
    sources = "\n".join(cell.source for run in runs for cell in run.nb.cells
                        if cell.cell_type == "code")
    versions = sorted(set(VERSIONS.findall(texts))) or ["Keras version not printed"]
    seeds = sorted(set(SEED.findall(sources)), key=int)
    length = (f"shortened for CI: at most {SHORT['KERAS_MAX_EPOCHS']} epochs of "
              f"{SHORT['KERAS_MAX_STEPS_PER_EPOCH']} steps" if short else "full-length training")
    return (f"Built {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} "
            f"with {', '.join(versions)}; Python {platform.python_version()}; "
            f"{platform.machine()}, {os.cpu_count()} CPU cores; "
            f"seed {', '.join(seeds) or 'not set'}; {length}.")


# The build.
def sphinx(source, target):
    """Renders the pages with Sphinx; returns its exit status (its warnings go to stderr)."""
    return subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-j", "1",
                           "-d", str(target.parent / "doctrees"),  # not inside the site
                           str(source), str(target)]).returncode


def main(argv=None):
    args = parse_args(argv)
    for name in SHORT:  # the kernels inherit the environment: full length unless --short
        os.environ.pop(name, None)
    if args.short:
        os.environ.update(SHORT)
    os.environ.setdefault("MNIST_LIVE_PLOT", "0")  # nobody watches: draw the final figure once
    repo_url, out = repository_url(), args.out.resolve()
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        source = work / "source"
        shutil.copytree(BOOK, source, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(IMAGES, source / "images")
        progress, runs, pages = Progress(total=len(args.notebooks)), [], []
        for path in args.notebooks:
            run = execute(path, args.timeout, progress)
            if run.error:
                progress.finish(f"{path.name}: FAILED")
                print(f"Build failed: {path.name} stopped at {run.failed_cell}: {run.error}\n"
                      f"Nothing was written; {out} is as it was.", file=sys.stderr)
                return 1
            accuracy, wrong = run.accuracy
            progress.finish(f"{path.name}: {accuracy or 'no accuracy'}, {run.seconds:.0f} s")
            nbformat.write(page_of(run.nb, path.name, repo_url), source / path.name)
            title = next((c.source.splitlines()[0][2:] for c in run.nb.cells
                          if c.cell_type == "markdown" and c.source.startswith("# ")), path.stem)
            runs.append(run)
            pages.append({"name": path.name, "title": title, "accuracy": accuracy})
        docs = sorted((ROOT / "notebooks").glob("*.md"))
        for doc in docs:
            shutil.copy(doc, source / doc.name)
        line = build_line(runs, args.short)
        (source / "index.md").write_text(home_page(pages, line, docs), encoding="utf-8")
        (source / "_build_info.json").write_text(json.dumps(
            {"repository_url": repo_url, "build_line_html": html.escape(line)}), encoding="utf-8")
        print("Rendering the pages (Sphinx) ...", flush=True)
        if sphinx(source, work / "html") != 0:
            print(f"Build failed: Sphinx could not render the pages (above); {out} is as it was.",
                  file=sys.stderr)
            return 1
        (work / "html" / ".nojekyll").touch()  # GitHub Pages: serve _static/ and _images/ as is
        if out.exists():
            out.rename(work / "previous")
        try:
            (work / "html").rename(out)
        except OSError:
            if (work / "previous").exists():
                (work / "previous").rename(out)  # the old site back, before `work` goes
            raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"Site: {out / 'index.html'} (to publish: {site_url(repo_url)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
