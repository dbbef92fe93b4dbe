"""The lowest Python the project claims to support is one its code and its CI actually run on.

pyproject.toml's `requires-python` is the floor; README.md and requirements.txt repeat it for
people, so they must say the same. The code may not use anything newer than the floor (the
standard-library modules below arrived late), and the suite must not run below it.
"""
import ast
import re
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Standard-library modules newer than Python 3.8, with the release that added them.
NEW_MODULES = {"zoneinfo": (3, 9), "graphlib": (3, 9), "tomllib": (3, 11)}
MENTION = re.compile(r"Python (3\.\d+)\+")


def _version(text):
    return tuple(int(part) for part in text.split("."))


def floor():
    spec = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    found = re.fullmatch(r"\s*>=\s*(3\.\d+)\s*", spec)
    assert found, f"requires-python should be a plain floor like '>=3.11', not {spec!r}"
    return _version(found.group(1))


def test_readme_and_requirements_state_the_floor_of_pyproject():
    for name in ("README.md", "requirements.txt"):
        mentions = MENTION.findall((REPO / name).read_text(encoding="utf-8"))
        assert mentions, f"{name} should say which Python it needs (e.g. 'Python 3.11+')"
        assert {_version(m) for m in mentions} == {floor()}, (
            f"{name} says Python {', '.join(mentions)}+ but pyproject.toml's requires-python "
            f"is >={'.'.join(map(str, floor()))}: make them agree")


def test_the_code_needs_nothing_newer_than_the_floor():
    too_new = []
    for path in sorted(REPO.glob("[!.]*/**/*.py")) + sorted(REPO.glob("*.py")):
        if ".venv" in path.parts:
            continue
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=str(path), feature_version=floor())  # syntax too
        for node in ast.walk(tree):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.module
                     else [])
            for name in names:
                needs = NEW_MODULES.get(name.split(".")[0])
                if needs and needs > floor():
                    too_new.append(f"{path.relative_to(REPO)} imports {name} "
                                   f"(Python {'.'.join(map(str, needs))}+)")
    assert not too_new, "requires-python is lower than the code needs: " + "; ".join(too_new)


def test_this_python_is_not_below_the_floor():
    assert sys.version_info[:2] >= floor(), (
        f"Python {sys.version.split()[0]} is below the project's floor "
        f"{'.'.join(map(str, floor()))}: use a newer Python")
