"""What the browser tests share: Debian's chromium driven by Playwright, gated so that a machine
without them skips the tests, while MNIST_BROWSER_TESTS=1 (CI) makes their absence an error;
and a free port on 127.0.0.1 for the server the browser opens."""
import os
import socket
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("MNIST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def browser_or_skip():
    """Playwright's sync_playwright, or a skip (a failure under MNIST_BROWSER_TESTS=1)."""
    required = os.environ.get("MNIST_BROWSER_TESTS") == "1"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    missing = ("the playwright package" if sync_playwright is None
               else None if Path(CHROMIUM).exists() else f"chromium at {CHROMIUM}")
    if missing:
        if required:
            pytest.fail(f"MNIST_BROWSER_TESTS=1 but {missing} is missing: see .ci/run")
        pytest.skip(f"{missing} is missing (apt-get install chromium; pip install playwright)")
    return sync_playwright


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
