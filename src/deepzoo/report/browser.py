"""A report seen in a real browser: headless Chromium loads the page as a user's browser would, says
whether every picture decoded and whether anything went wrong, and takes a screenshot.

Used by the browser test (tests/test_report_browser.py) and the docs' screenshot
(``benchmarks/docs_figures.py report``). Chromium is driven by its command line alone — ``--dump-dom``
after a small checking script, ``--screenshot`` — so no Python package is needed; its console messages
come on stderr (``--enable-logging=stderr``) as ``CONSOLE`` lines. Every host name is made unresolvable
(``--host-resolver-rules``) and background networking is off, so a check never reaches the network: a
page that needed it would show broken pictures.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--disable-sync",
         "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
         "--host-resolver-rules=MAP * ~NOTFOUND")
#: runs first in the page: counts error events (scripts and pictures that fail to load), then on
#: ``load`` writes each picture's decoded size and the count into the document for --dump-dom to show
CHECK_SCRIPT = """<script>
window.__errors = 0;
window.addEventListener("error", () => { window.__errors += 1; }, true);
window.addEventListener("load", () => {
  const images = Array.from(document.images).map(i => [i.complete ? i.naturalWidth : 0, i.naturalHeight]);
  document.documentElement.setAttribute("data-check", JSON.stringify({images: images, errors: window.__errors}));
});
</script>"""
TIMEOUT_S = 120


def find_browser() -> str | None:
    """The path of a Chromium (or Chrome) executable on this machine, or None."""
    return next((path for path in map(shutil.which, BROWSERS) if path), None)


@dataclass
class PageCheck:
    """What the browser saw: each picture's decoded (width, height), the error events, and the console
    messages it printed."""

    images: list[tuple[int, int]]
    errors: int
    console: list[str]


def _run(browser: str, args: list[str], profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                          timeout=TIMEOUT_S, check=False)


def check_page(page: str | Path, browser: str) -> PageCheck:
    """Load ``page`` (a copy with :data:`CHECK_SCRIPT` put first in its ``<head>``) in headless
    ``browser`` and read back what the script recorded and what the console said."""
    with tempfile.TemporaryDirectory(prefix="deepzoo-browser-") as folder:
        copy = Path(folder) / "page.html"
        copy.write_text(Path(page).read_text().replace("<head>", "<head>" + CHECK_SCRIPT, 1))
        done = _run(browser, ["--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000",
                              "--dump-dom", copy.resolve().as_uri()], Path(folder) / "profile")
    found = re.search(r'data-check="([^"]*)"', done.stdout)
    if found is None:
        raise RuntimeError(f"{browser} did not run the page's check (exit {done.returncode}): {done.stderr[-500:]}")
    result = json.loads(html.unescape(found.group(1)))
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return PageCheck([tuple(size) for size in result["images"]], result["errors"], console)


def screenshot(page: str | Path, output: str | Path, browser: str, width: int = 1200, height: int = 1500) -> Path:
    """A ``width`` × ``height`` PNG of the top of ``page`` as headless ``browser`` draws it."""
    output = Path(output).resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="deepzoo-browser-") as folder:
        done = _run(browser, ["--hide-scrollbars", f"--window-size={width},{height}", f"--screenshot={output}",
                              Path(page).resolve().as_uri()], Path(folder) / "profile")
    if not output.is_file():
        raise RuntimeError(f"{browser} wrote no screenshot (exit {done.returncode}): {done.stderr[-500:]}")
    return output
