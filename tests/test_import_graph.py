"""mnist_utils' modules import each other one way only: no circle, even through an import
inside a function (where accelerators.py and data.py load their backend modules)."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mnist_utils"
MODULES = {path.stem: path for path in PACKAGE.glob("*.py")}


def imports_of(path):
    """The package's modules that `path` imports, anywhere in the file ("__init__" for names
    taken from the package itself)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "mnist_utils":
                    found.add(parts[1] if len(parts) > 1 else "__init__")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] != "mnist_utils":
                continue
            if len(parts) > 1:
                found.add(parts[1])
            else:  # from mnist_utils import x: a module, or a name of the package
                found |= {alias.name if alias.name in MODULES else "__init__"
                          for alias in node.names}
    return found


def graph():
    return {name: imports_of(path) - {name} for name, path in MODULES.items()}


def circles(edges):
    """Every circle in a directed graph, each once (found by depth-first search)."""
    found, done = set(), set()

    def visit(node, path):
        if node in path:
            circle = path[path.index(node):]
            start = circle.index(min(circle))
            found.add(tuple(circle[start:] + circle[:start]))
            return
        if node in done:
            return
        for target in sorted(edges.get(node, ())):
            visit(target, path + [node])
        done.add(node)

    for node in sorted(edges):
        visit(node, [])
    return found


def test_the_package_has_no_import_circle():
    found = circles(graph())
    assert not found, "import circles (move the shared piece into a leaf module): " + "; ".join(
        " -> ".join(circle + (circle[0],)) for circle in sorted(found))


@pytest.mark.parametrize("leaf", ["_accelerator", "_batching", "files", "backends", "fonts"])
def test_shared_pieces_live_in_modules_that_import_little_of_the_package(leaf):
    assert graph()[leaf] <= {"backends"}, graph()[leaf]


def test_the_check_finds_a_circle():
    """The walk sees imports inside functions, and the search reports a circle it is shown."""
    edges = graph()
    assert "_tf_strategies" in edges["accelerators"]  # imported inside find_accelerator()
    found = circles({**edges, "_accelerator": edges["_accelerator"] | {"accelerators"}})
    assert found and all("_accelerator" in circle for circle in found), found
