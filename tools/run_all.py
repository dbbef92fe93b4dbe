"""A teacher's run-all: every notebook executed headless, written as HTML with its plots, and a
summary page of each notebook's final accuracy and time.

    python tools/run_all.py --out report/              # the five notebooks, full training
    python tools/run_all.py --out report/ notebooks/01_softmax.ipynb

Each notebook runs top to bottom in a fresh Jupyter kernel (nbclient), as a learner would, in
the current environment (so MNIST_DATA_DIR, KERAS_BACKEND or Keras' KERAS_MAX_EPOCHS caps apply
as set), and is rendered to HTML by nbconvert with its images embedded. A notebook that fails
is still written, up to its error, and marked failed on the summary page; the others still
run, and the command ends with status 1. The report is written into a temporary folder next to
--out and moved into place at the end: a stopped run never leaves a half-written report.

While it runs, the terminal shows which notebook, which cell, which epoch and the time so far
(tools/notebook_code.py); the kernels' own start-up lines (TensorFlow's C++ log, the kernel's
warning about unencrypted traffic) are kept out of it.
"""
import argparse
import datetime
import html
import json
import os
import platform
import re
import shutil
import sys
import tempfile
from pathlib import Path

from nbconvert import HTMLExporter

from notebook_code import CAPS, Progress, check_notebooks_and_out, execute

ROOT = Path(__file__).resolve().parents[1]
VERSIONS = re.compile(r"^Keras \S+ on .+$", re.M)  # what mnist_utils.versions() prints


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to run (default: the five in notebooks/)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the report")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds allowed per cell")
    return check_notebooks_and_out(parser, parser.parse_args(argv), ROOT / "notebooks",
                                   "the report")


def title_of(nb, path):
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("# "):
            return cell.source.splitlines()[0][2:].strip()
    return path.stem


def run(path, timeout, progress):
    """Executes one notebook; returns (the executed notebook, its summary row)."""
    done = execute(path, timeout, progress)
    accuracy, wrong = done.accuracy
    row = {"notebook": path.name, "title": title_of(done.nb, path), "seconds": done.seconds,
           "accuracy": accuracy, "wrong": wrong, "epochs": done.epochs, "error": done.error,
           "cell": done.failed_cell}
    versions = VERSIONS.findall(done.text)
    return done.nb, row, versions[0] if versions else None


def summary_page(rows, versions):
    def cell(value):
        return html.escape(str(value)) if value is not None else "–"

    lines = [f"<tr><td><a href='{html.escape(row['html'])}'>{cell(row['title'])}</a></td>"
             f"<td>{cell(row['accuracy'])}</td><td>{cell(row['wrong'])}</td>"
             f"<td>{row['seconds']:.0f} s</td><td>{cell(row['epochs'])}</td>"
             f"<td class='{'failed' if row['error'] else 'ok'}'>"
             f"{'failed at ' + cell(row['cell']) + ': ' + cell(row['error']) if row['error'] else 'ran top to bottom'}</td></tr>"
             for row in rows]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>MNIST series: run-all report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border-bottom: 1px solid #ccc; padding: .5em .7em; text-align: left; }}
th {{ background: #f3f3f3; }}
.failed {{ color: #b00020; font-weight: bold; }} .ok {{ color: #1b6e20; }}
</style></head><body>
<h1>The notebooks, run top to bottom</h1>
<p>{html.escape(versions)}</p>
<table><tr><th>Notebook</th><th>Final validation accuracy</th><th>Digits wrong (of 10,000)</th>
<th>Time</th><th>Epochs</th><th>Status</th></tr>
{chr(10).join(lines)}
</table>
<p>Each notebook links to its executed copy, with every output and plot.</p>
</body></html>
"""


def versions_line(versions):
    """When, where and with what the notebooks ran, as the kernels reported it."""
    caps = [f"{name}={os.environ[name]}" for name in CAPS if os.environ.get(name)]
    return (f"Run {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')} on {platform.node()} "
            f"({platform.machine()}, {os.cpu_count()} CPU cores; Python "
            f"{platform.python_version()}, {versions or 'Keras version not printed'})."
            + (f" Training was shortened by {' and '.join(caps)}." if caps else ""))


def main(argv=None):
    args = parse_args(argv)
    out = args.out.resolve()
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    progress = Progress(total=len(args.notebooks))
    try:
        rows, exporter, versions = [], HTMLExporter(embed_images=True), None
        for path in args.notebooks:
            nb, row, printed = run(path.resolve(), args.timeout, progress)
            versions = versions or printed
            row["html"] = path.stem + ".html"
            body, _ = exporter.from_notebook_node(nb)
            (work / row["html"]).write_text(body, encoding="utf-8")
            rows.append(row)
            progress.finish(f"{path.name}: {row['accuracy'] or 'no accuracy'}, {row['seconds']:.0f} s"
                            + (f", FAILED at {row['cell']}: {row['error']}" if row["error"] else ""))
        (work / "index.html").write_text(summary_page(rows, versions_line(versions)), encoding="utf-8")
        (work / "summary.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        work.rename(out)
    finally:
        if work.exists():
            shutil.rmtree(work)
    print(f"Report: {out / 'index.html'}")
    return 1 if any(row["error"] for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
