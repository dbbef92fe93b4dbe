"""The notebooks, for the tools, the benchmarks and the tests: found, read, changed, and run.

- Find and read: `notebook_paths()` (the five notebooks), `load`, `cell_text`.
- Change, as a learner would edit them: `with_seed`, `with_changes` (lines replaced), and
  `with_cells` (cells added at the end).
- Run in this process up to a section: `code_until` (the code as plain Python), `run_until`
  (executed quietly; each cell can be timed).
- Run in a fresh Jupyter kernel: `execute`, with its progress in the terminal (which notebook,
  cell, epoch and time so far, read from Keras' progress output: on a terminal one line updated
  in place, in a log one line per epoch) and without the kernel's noise: its own stdout and
  stderr, where TensorFlow's C++ lines ("failed call to cuInit", "cpu_feature_guard") and the
  kernel's warning about unencrypted traffic land, go to a log file, whose last lines are shown
  only if the kernel dies.
"""
import contextlib
import io
import json
import os
import re
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def notebook_paths(folder=NOTEBOOKS):
    """The notebooks of the series, in order: 01_softmax.ipynb ... 05_batch_norm.ipynb."""
    return sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))


def load(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def cell_text(cell):
    return "".join(cell["source"])


def cells_until(nb, section):
    """The notebook's code cells, as plain Python, from the top to the `## <section>` heading."""
    from IPython.core.inputtransformer2 import TransformerManager

    code = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown" and cell_text(cell).startswith(f"## {section}"):
            break
        if cell["cell_type"] == "code":
            code.append(TransformerManager().transform_cell(cell_text(cell)))
    return code


def code_until(nb, section):
    """The notebook's code, as plain Python, from the top to the `## <section>` heading."""
    return "\n".join(cells_until(nb, section))


def run_until(nb, section, name="notebook", each_cell=None):
    """Runs the notebook's code in this process, from the top to the `## <section>` heading,
    without its printing; returns its variables. `each_cell(code, seconds)` after each cell."""
    namespace = {}
    for code in cells_until(nb, section):
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(code, name, "exec"), namespace)
        if each_cell:
            each_cell(code, time.perf_counter() - started)
    return namespace


def with_seed(nb, seed):
    """A copy of the notebook whose Parameters cell sets SEED = seed (as a learner would edit it)."""
    nb = json.loads(json.dumps(nb))
    for cell in nb["cells"]:
        source = cell_text(cell)
        if cell["cell_type"] == "code" and re.search(r"^SEED = \d+$", source, re.M):
            cell["source"] = re.sub(r"^SEED = \d+$", f"SEED = {seed}", source, flags=re.M)
            return nb
    raise ValueError("no 'SEED = <number>' line in the notebook's Parameters")


def with_changes(nb, replacements):
    """A copy of the notebook with each `old` text, found in exactly one code cell, replaced
    by `new` (as an exercise asks); ValueError where it is in no code cell or in several."""
    nb = json.loads(json.dumps(nb))
    for old, new in replacements:
        cells = [c for c in nb["cells"] if c["cell_type"] == "code" and old in cell_text(c)]
        if len(cells) != 1:
            raise ValueError(f"{old!r} is in {len(cells)} code cells of the notebook, not in "
                             "exactly one")
        cells[0]["source"] = cell_text(cells[0]).replace(old, new)
    return nb


def with_cells(nb, *sources):
    """A copy of the notebook with code cells added at the end."""
    nb = json.loads(json.dumps(nb))
    nb["cells"] += [nbformat.v4.new_code_cell(source) for source in sources]
    return nb


# --- Running a notebook in a fresh kernel ------------------------------------------------------

CAPS = ("KERAS_MAX_EPOCHS", "KERAS_MAX_STEPS_PER_EPOCH")  # Keras' caps on fit (the tests set them)
ACCURACY = re.compile(r"Validation accuracy ([\d.]+)%: ([\d,]+) of ([\d,]+) digits")
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")
EPOCH = re.compile(r"^Epoch (\d+)/(\d+)\s*$", re.M)  # Keras' progress: "Epoch 3/10"
STEP = re.compile(r"(\d+)/(\d+) ━")                   # Keras' progress bar: " 120/469 ━━━━"


def check_notebooks_and_out(parser, args, default_folder, what):
    """The command line's notebooks (default: the five in default_folder) must exist, and --out
    must be a folder that can be made; parser.error says which is wrong before anything runs."""
    args.notebooks = [Path(p).resolve() for p in args.notebooks] or notebook_paths(default_folder)
    missing = [str(path) for path in args.notebooks if not path.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    out = args.out.resolve()
    if out.exists() and not out.is_dir():
        parser.error(f"--out {args.out} is a file; name a folder (it is created if missing)")
    if not out.parent.is_dir() or not os.access(out.parent, os.W_OK):
        parser.error(f"cannot write {what} into {args.out}: its parent folder must exist and "
                     "be writable")
    return args


def elapsed(seconds):
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}:{seconds:02d}"


def cell_label(nb, index):
    """Where a cell is, for a person: "cell 15 of 31 (Training: history = model.fit()"."""
    section = next((cell.source.splitlines()[0].lstrip("# ").strip()
                    for cell in reversed(nb.cells[:index + 1])
                    if cell.cell_type == "markdown" and cell.source.startswith("## ")), None)
    lines = nb.cells[index].source.strip().splitlines()
    first = lines[0].strip() if lines else ""
    where = ": ".join(filter(None, [section, first[:50]]))
    return f"cell {index + 1} of {len(nb.cells)}" + (f" ({where})" if where else "")


class Progress:
    """What the terminal shows while notebooks run: notebook, cell, epoch and time so far."""

    def __init__(self, stream=None, total=1):
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty()   # a terminal: one line, redrawn; a log: line by line
        self.total, self.count = total, 0
        self._lock, self._ticker, self._running = threading.Lock(), None, False

    def start(self, name, cells):
        self.count += 1
        self.name, self.cells, self.cell, self.epoch, self.step = name, cells, 0, None, None
        self.started = time.monotonic()
        if self.live:
            self._running = True
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()

    def cell_started(self, index):
        self.cell, self.step = index + 1, None
        self._show()

    def output(self, text):
        """Keras' printed progress: a new epoch is shown at once, steps only on a terminal."""
        epochs = EPOCH.findall(text)
        steps = STEP.findall(text)
        if epochs:
            self.epoch, self.step = "/".join(epochs[-1]), None
            if not self.live:
                self._write(self.line() + "\n")
        if steps:
            self.step = "/".join(steps[-1])
        if epochs or steps:
            self._show()

    def finish(self, summary):
        """Ends the notebook's progress with its one-line summary."""
        self._running = False
        if self._ticker is not None:
            self._ticker.join()
            self._ticker = None
        self._write(("\r\x1b[K" if self.live else "") + summary + "\n")

    def line(self):
        parts = [f"[{self.count}/{self.total}] {self.name}",
                 f"cell {self.cell}/{self.cells}" if self.cell else "starting its kernel"]
        if self.epoch:
            parts.append(f"epoch {self.epoch}" + (f", step {self.step}" if self.step and self.live else ""))
        return " · ".join(parts + [elapsed(time.monotonic() - self.started)])

    def _show(self):
        if self.live:
            self._write("\r\x1b[K" + self.line())

    def _tick(self):
        while self._running:
            self._show()
            time.sleep(1)

    def _write(self, text):
        with self._lock:
            self.stream.write(text)
            self.stream.flush()


def _reporting_client(nb, progress, **kwargs):
    """nbclient's executor, telling a Progress about each cell and each printed line."""
    from nbclient import NotebookClient

    class ReportingClient(NotebookClient):
        def output(self, outs, msg, display_id, cell_index):
            if msg["msg_type"] == "stream":
                progress.output(msg["content"].get("text", ""))
            return super().output(outs, msg, display_id, cell_index)

    def cell_started(cell, cell_index):
        client.current = cell_index
        progress.cell_started(cell_index)

    client = ReportingClient(nb, on_cell_start=cell_started, **kwargs)
    client.current = None
    return client


@dataclass
class Run:
    """One executed notebook: the notebook with its outputs, and what happened."""
    nb: nbformat.NotebookNode
    seconds: float
    error: str | None = None          # the error's last line, e.g. "ValueError: a typo"
    failed_cell: str | None = None    # cell_label() of the cell that failed
    text: str = field(default="", repr=False)  # everything the cells printed

    @property
    def accuracy(self):
        """(accuracy "99.50%", digits wrong "50") of the last score printed, or (None, None)."""
        found = ACCURACY.findall(self.text)
        return (f"{found[-1][0]}%", found[-1][1]) if found else (None, None)

    @property
    def epochs(self):
        return max((int(n) for n, _ in EPOCH.findall(self.text)), default=0)


def printed_text(nb):
    """All text the notebook's cells printed."""
    return "\n".join(output.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                     for output in cell.get("outputs", []) if output.get("output_type") == "stream")


def execute(path, timeout, progress=None, nb=None):
    """Executes the notebook at `path` (or `nb`, an edited copy of it: `with_seed`,
    `with_changes`, `with_cells`) in a fresh kernel started in its folder; returns a Run.

    A failing cell does not raise: the notebook keeps its outputs up to the error, and the Run
    names the error and the cell.
    """
    from nbclient.exceptions import CellExecutionError

    path = Path(path)
    nb = (nbformat.reads(json.dumps(nb), as_version=4) if nb is not None
          else nbformat.read(path, as_version=4))
    progress = progress or Progress()
    # The kernel's C++ lines are written straight to its file descriptors, not into the
    # notebook (capture_fd_output=False), and the kernel's descriptors go to `log`.
    client = _reporting_client(nb, progress, timeout=timeout, kernel_name="python3",
                               coalesce_streams=True,
                               extra_arguments=["--IPKernelApp.capture_fd_output=False"],
                               resources={"metadata": {"path": str(path.parent)}})
    progress.start(path.name, len(nb.cells))
    start, error = time.monotonic(), None
    with tempfile.TemporaryFile("w+", prefix="kernel-", suffix=".log") as log:
        try:
            client.execute(stdout=log, stderr=log)
        except CellExecutionError as err:
            text = ANSI_COLOUR.sub("", str(err)).strip()
            error = text.splitlines()[-1] if text else type(err).__name__
        except Exception as err:  # noqa: BLE001 - a dead kernel, a timeout: reported, not fatal
            error = f"{type(err).__name__}: {err}"
            log.seek(0)
            tail = log.read().strip().splitlines()[-15:]
            if tail:
                progress.finish(f"{path.name}: the kernel's last words:\n  " + "\n  ".join(tail))
    return Run(nb, round(time.monotonic() - start, 1), error,
               cell_label(nb, client.current) if error and client.current is not None else None,
               printed_text(nb))
