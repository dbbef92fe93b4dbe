"""Read the notebooks' code the way IPython runs it: shared by the tests and the benchmarks."""
import json
import re
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def notebook_paths():
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def load(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def cell_text(cell):
    return "".join(cell["source"])


def code_until(nb, section):
    """The notebook's code, as plain Python, from the top to the `## <section>` heading."""
    from IPython.core.inputtransformer2 import TransformerManager

    code = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown" and cell_text(cell).startswith(f"## {section}"):
            break
        if cell["cell_type"] == "code":
            code.append(TransformerManager().transform_cell(cell_text(cell)))
    return "\n".join(code)


def with_seed(nb, seed):
    """A copy of the notebook whose Parameters cell sets SEED = seed (as a learner would edit it)."""
    nb = json.loads(json.dumps(nb))
    for cell in nb["cells"]:
        source = cell_text(cell)
        if cell["cell_type"] == "code" and re.search(r"^SEED = \d+$", source, re.M):
            cell["source"] = re.sub(r"^SEED = \d+$", f"SEED = {seed}", source, flags=re.M)
            return nb
    raise ValueError("no 'SEED = <number>' line in the notebook's Parameters")
