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
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parents[1]
ACCURACY = re.compile(r"Validation accuracy ([\d.]+)%: ([\d,]+) of ([\d,]+) digits")
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")
EPOCH = re.compile(r"^Epoch (\d+)/\d+\s*$", re.M)  # Keras' progress: "Epoch 3/10"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to run (default: the five in notebooks/)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the report")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds allowed per cell")
    args = parser.parse_args(argv)
    args.notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    missing = [str(path) for path in args.notebooks if not path.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    out = args.out.resolve()
    if out.exists() and not out.is_dir():
        parser.error(f"--out {args.out} is a file; name a folder (it is created if missing)")
    if not out.parent.is_dir() or not os.access(out.parent, os.W_OK):
        parser.error(f"cannot write the report into {args.out}: its parent folder must exist and "
                     "be writable")
    return args


def outputs_text(nb):
    """All text the notebook's cells printed."""
    return "\n".join(output.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                     for output in cell.get("outputs", []) if output.get("output_type") == "stream")


def title_of(nb, path):
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("# "):
            return cell.source.splitlines()[0][2:].strip()
    return path.stem


def run(path, timeout):
    """Executes one notebook; returns (the executed notebook, its summary row)."""
    nb = nbformat.read(path, as_version=4)
    # The kernel's own C++ start-up lines (TensorFlow's CUDA probing) go to this terminal, not
    # into the pages; Keras' progress bars are kept as their final line.
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", coalesce_streams=True,
                            extra_arguments=["--IPKernelApp.capture_fd_output=False"],
                            resources={"metadata": {"path": str(path.parent)}})
    start, error = time.monotonic(), None
    try:
        client.execute()
    except CellExecutionError as err:
        text = ANSI_COLOUR.sub("", str(err)).strip()
        error = text.splitlines()[-1] if text else type(err).__name__
    except Exception as err:  # noqa: BLE001 - a dead kernel, a timeout: reported, not fatal
        error = f"{type(err).__name__}: {err}"
    seconds = time.monotonic() - start
    text = outputs_text(nb)
    found = ACCURACY.findall(text)
    epochs = [int(n) for n in EPOCH.findall(text)]
    row = {"notebook": path.name, "title": title_of(nb, path), "seconds": round(seconds, 1),
           "accuracy": f"{found[-1][0]}%" if found else None,
           "wrong": found[-1][1] if found else None,
           "epochs": max(epochs, default=0), "error": error}
    return nb, row


def summary_page(rows, versions):
    def cell(value):
        return html.escape(str(value)) if value is not None else "–"

    lines = [f"<tr><td><a href='{html.escape(row['html'])}'>{cell(row['title'])}</a></td>"
             f"<td>{cell(row['accuracy'])}</td><td>{cell(row['wrong'])}</td>"
             f"<td>{row['seconds']:.0f} s</td><td>{cell(row['epochs'])}</td>"
             f"<td class='{'failed' if row['error'] else 'ok'}'>"
             f"{'failed: ' + cell(row['error']) if row['error'] else 'ran top to bottom'}</td></tr>"
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


def versions_line():
    import mnist_utils  # first: it picks Keras' backend, as in the notebooks
    caps = [f"{name}={os.environ[name]}" for name in ("KERAS_MAX_EPOCHS", "KERAS_MAX_STEPS_PER_EPOCH")
            if os.environ.get(name)]
    return (f"Run {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')} on {platform.node()} "
            f"(Python {platform.python_version()}, {mnist_utils.versions()})."
            + (f" Training was shortened by {' and '.join(caps)}." if caps else ""))


def main(argv=None):
    args = parse_args(argv)
    out = args.out.resolve()
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        rows, exporter = [], HTMLExporter(embed_images=True)
        for path in args.notebooks:
            nb, row = run(path.resolve(), args.timeout)
            row["html"] = path.stem + ".html"
            body, _ = exporter.from_notebook_node(nb)
            (work / row["html"]).write_text(body, encoding="utf-8")
            rows.append(row)
            print(f"{path.name}: {row['accuracy'] or 'no accuracy'}, {row['seconds']:.0f} s"
                  + (f", FAILED: {row['error']}" if row["error"] else ""), flush=True)
        (work / "index.html").write_text(summary_page(rows, versions_line()), encoding="utf-8")
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
