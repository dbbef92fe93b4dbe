"""mnist_utils' modules import each other one way only when they are loaded: no circle among
their module-level imports. An import inside a function (where accelerators.py loads its backend
modules, which import accelerators.py) runs later, once every module is loaded, and may go back."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "mnist_utils"
MODULES = {path.stem: path for path in PACKAGE.glob("*.py")}


def module_level(tree):
    """The nodes that run when the module is loaded: not those inside functions."""
    for node in ast.iter_child_nodes(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            yield node
            yield from module_level(node)


def imports_of(path, everywhere=False):
    """The package's modules that `path` imports when it is loaded (`everywhere`: also inside
    functions); "__init__" for names taken from the package itself."""
    found = set()
    tree = ast.parse(path.read_text())
    for node in (ast.walk(tree) if everywhere else module_level(tree)):
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


def graph(everywhere=False):
    return {name: imports_of(path, everywhere) - {name} for name, path in MODULES.items()}


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
    assert not found, "import circles (import inside the function that needs it, or merge): " + "; ".join(
        " -> ".join(circle + (circle[0],)) for circle in sorted(found))


def test_backends_imports_nothing_of_the_package():
    """It runs first, before Keras starts (mnist_utils/__init__.py)."""
    assert graph()["backends"] == set(), graph()["backends"]


def test_the_check_finds_a_circle():
    """Only module-level imports count, and the search reports a circle it is shown."""
    edges = graph()
    assert "_tf_strategies" in graph(everywhere=True)["accelerators"]  # in find_accelerator()
    assert "_tf_strategies" not in edges["accelerators"]
    assert "accelerators" in edges["_tf_strategies"]
    found = circles({**edges, "accelerators": edges["accelerators"] | {"_tf_strategies"}})
    assert found == {("_tf_strategies", "accelerators")}, found
