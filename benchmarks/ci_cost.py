"""Time the whole test command of README.md, as CI runs it.

    python benchmarks/ci_cost.py

Runs `python -m pytest` from the repository's root (the unit tests and every notebook under
nbval), and writes its wall time and closing line to benchmarks/results/ci_cost.json and .md.
"""
import json
import subprocess
import sys
import time
from datetime import date

from _plumbing import ROOT, machine, write_results

COMMAND = [sys.executable, "-m", "pytest"]


def main():
    started = time.perf_counter()
    done = subprocess.run(COMMAND, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    summary = (done.stdout.strip().splitlines() or [""])[-1].strip("= ")
    result = {"date": date.today().isoformat(), "command": "python -m pytest",
              "machine": machine(),
              "seconds": round(seconds, 1), "exit_code": done.returncode, "summary": summary}
    write_results("ci_cost", result,
                  f"`python -m pytest`: {seconds / 60:.1f} min wall time on {result['machine']} "
                  f"({summary}, exit code {done.returncode}).")
    print(json.dumps(result, indent=2))
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
