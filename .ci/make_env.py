"""Build one of the environments of .ci/stacks.toml: a virtual environment with its versions.

    python3 .ci/make_env.py colab-gpu .venv-colab-gpu   # prints the environment's Python
    python3 .ci/make_env.py --all   # each one into .venv-NAME; prints `export MNIST_NAME_PYTHON=...`

Finds the environment's Python (`python3.13`, else pyenv's 3.13.x through `PYENV_VERSION`) and
fails with what to install where there is none: a missing interpreter is a failure, not a skip.
The versions go to pip as constraints; afterwards every pinned package is checked to be at its
version, and a package the environment must not have (TensorFlow where its extras lack it) to
be absent. Runs on Python 3.11+ with the standard library only.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STACKS = ROOT / ".ci" / "stacks.toml"
TOOLS = ["pytest", "nbval", "ipykernel"]  # what runs the notebooks there
FLOOR = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*>=\s*([0-9][0-9.]*)\s*$")


def stacks():
    return tomllib.loads(STACKS.read_text())


def project():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def requirements(extras):
    """The requirements of the helpers' distribution with these extras, as pyproject.toml writes them."""
    optional = project()["optional-dependencies"]
    return [*project()["dependencies"], *(r for extra in extras for r in optional[extra])]


def floors():
    """{package: version} from every `name>=version` of pyproject.toml's dependencies."""
    found = {}
    for requirement in requirements(["tensorflow", "jax"]):
        match = FLOOR.match(requirement)
        if not match:
            sys.exit(f"pyproject.toml: {requirement!r} is not `name>=version`, so it has no floor "
                     "to test; write it as `name>=X.Y.Z`.")
        found[match[1].lower()] = match[2]
    return found


def pins(env):
    """{package: version} that the environment runs."""
    return floors() if env["versions"] == "floors" else dict(stacks()[env["versions"]])


def expected_packages(env):
    """The pinned packages this environment must have (the others must be absent)."""
    names = {FLOOR.match(r)[1].lower() for r in requirements(env["extras"]) if FLOOR.match(r)}
    return {name for name in pins(env) if name in names or name not in ("tensorflow", "jax")}


def find_python(version):
    """The path of a working Python `version` (e.g. "3.13"); exits with what to do if none."""
    tried = []
    for command, extra_env in _candidates(version):
        try:
            done = subprocess.run([*command, "-c", "import sys, venv; print(sys.executable); "
                                   "print('%d.%d' % sys.version_info[:2])"],
                                  env={**os.environ, **extra_env}, capture_output=True,
                                  text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            tried.append(f"{' '.join(command)}: {e}")
            continue
        lines = done.stdout.split()
        if done.returncode == 0 and len(lines) == 2 and lines[1] == version:
            return lines[0]
        tried.append(f"{' '.join(f'{k}={v}' for k, v in extra_env.items())} {' '.join(command)}"
                     f": {(done.stderr.strip().splitlines() or ['wrong version'])[-1]}")
    sys.exit(f"No working Python {version} on this machine (tried: {'; '.join(tried)}). "
             f"Install it (e.g. `pyenv install {version}` or `apt-get install python{version} "
             f"python{version}-venv`): CI runs the notebooks on it.")


def _candidates(version):
    yield [f"python{version}"], {}
    pyenv = shutil.which("pyenv")
    if pyenv:
        bare = subprocess.run([pyenv, "versions", "--bare"], capture_output=True, text=True)
        matching = [v for v in bare.stdout.split() if re.fullmatch(re.escape(version) + r"\.\d+", v)]
        for full in sorted(matching, key=lambda v: int(v.rsplit(".", 1)[1]), reverse=True):
            # `PYENV_VERSION=3.13.0 python3`, by the full path: run from pyenv's 3.11, this
            # script's PATH starts with 3.11's own bin folder, which would win over the shim
            prefix = subprocess.run([pyenv, "prefix", full], capture_output=True, text=True,
                                    env={**os.environ, "PYENV_VERSION": full}).stdout.strip()
            if prefix:
                yield [f"{prefix}/bin/python3"], {"PYENV_VERSION": full}


def pip(python, *args):
    subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *args],
                   check=True, cwd=ROOT)


def build(name, folder):
    env = stacks()["environment"][name]
    folder = Path(folder).resolve()
    started = time.monotonic()
    base = find_python(env["python"])
    if not (folder / "bin" / "python").exists():
        subprocess.run([base, "-m", "venv", str(folder)], check=True)
    python = str(folder / "bin" / "python")
    constraints = folder / "constraints.txt"
    constraints.write_text("".join(f"{k}=={v}\n" for k, v in pins(env).items()))
    extras = ",".join(env["extras"])
    if env["install"] == "checkout":
        pip(python, "-c", str(constraints), f".[{extras}]", *TOOLS)
    else:  # the notebooks' setup cell installs mnist_utils; here only what it needs
        pip(python, "-c", str(constraints), *requirements(env["extras"]), *TOOLS)
        subprocess.run([python, "-m", "pip", "uninstall", "-q", "-y", "keras-mnist-ladder"],
                       check=True, capture_output=True)
    check(name, env, python)
    have = installed(python)
    runs = ", ".join(f"{p} {have[p]}" for p in pins(env) if p in have)
    print(f"{name}: Python {env['python']}, {runs}; built in {time.monotonic() - started:.0f} s",
          file=sys.stderr)
    return python


def variable(name):
    """The variable that names the environment's Python for tests/test_environments.py."""
    return f"MNIST_{name.upper().replace('-', '_')}_PYTHON"


def installed(python):
    """{package: version} of everything installed in the environment of `python`."""
    done = subprocess.run([python, "-c", "import json, importlib.metadata as m; print(json.dumps("
                           "{d.metadata['Name'].lower().replace('_', '-'): d.version "
                           "for d in m.distributions()}))"],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def check(name, env, python):
    """Exits where a pinned package is not at its version, or one that must be absent is there."""
    have = installed(python)
    expected = expected_packages(env)
    wrong = [f"{p} {have.get(p, 'missing')} (pinned {v})" for p, v in pins(env).items()
             if p in expected and not _same(have.get(p), v)]
    unwanted = [f"{p} {have[p]}" for p in pins(env) if p not in expected and p in have]
    if wrong or unwanted:
        sys.exit(f"{name}: " + "; ".join(
            ([f"not at the versions of .ci/stacks.toml: {', '.join(wrong)}"] if wrong else []) +
            ([f"installed through a dependency, must be absent: {', '.join(unwanted)}"]
             if unwanted else [])))


def _same(have, pinned):
    """'2.16.1' == '2.16.1', and '5' == '5.0.0' (how pip compares `==`)."""
    def parts(v):
        numbers = [int(x) for x in re.match(r"[0-9.]*[0-9]", v)[0].split(".")]
        while numbers and numbers[-1] == 0:
            numbers.pop()
        return numbers
    return have is not None and parts(have) == parts(pinned)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", nargs="?", choices=sorted(stacks()["environment"]))
    parser.add_argument("folder", nargs="?", help="where to make the virtual environment")
    parser.add_argument("--all", action="store_true",
                        help="build every environment into .venv-NAME, print shell exports")
    args = parser.parse_args(argv)
    if args.all:
        for name in stacks()["environment"]:
            print(f"export {variable(name)}={build(name, ROOT / f'.venv-{name}')}")
    elif args.name and args.folder:
        print(build(args.name, args.folder))
    else:
        parser.error("name an environment and a folder, or --all")


if __name__ == "__main__":
    main()
