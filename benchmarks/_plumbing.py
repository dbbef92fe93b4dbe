"""What the benchmarks share: the machine and versions a result records, the command line that
produced it, and benchmarks/results/ read and written.

Each benchmark imports it before anything of the checkout (a script's own folder is on its path,
so `from _plumbing import ...` works); importing it makes the package and tools/ importable
from the checkout, for all of them, here only.
"""
import importlib
import json
import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

sys.path[:0] = [folder for folder in (str(ROOT), str(ROOT / "tools")) if folder not in sys.path]


def machine():
    """The machine, as every result names it: "x86_64, 2 CPU cores"."""
    return f"{platform.machine()}, {os.cpu_count()} CPU cores"


def versions(*packages):
    """{package: version} of Keras and its backend, or of the packages named."""
    if not packages:
        import keras

        packages = ("keras", keras.backend.backend())
    return {name: importlib.import_module(name).__version__ for name in packages}


def command(script, argv=None):
    """The command line that produced a result: "python benchmarks/NAME.py ARGS"."""
    return f"python benchmarks/{Path(script).name} " + " ".join(argv or sys.argv[1:])


def read_results(name, empty, folder=RESULTS):
    """results/NAME.json as a benchmark last wrote it, or `empty` where none has run yet."""
    path = Path(folder) / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else empty


def write_results(name, results=None, markdown=None, folder=RESULTS):
    """Write results/NAME.json (`results`) and results/NAME.md (`markdown`, README's table)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if results is not None:
        (folder / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")
    if markdown is not None:
        (folder / f"{name}.md").write_text(markdown.rstrip("\n") + "\n")
