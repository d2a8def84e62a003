"""A real browser for the report's tests: Debian's Chromium (installed by
scripts/install-chromium.sh, never downloaded), driven headless by Playwright, with every
request that is not the report's own file refused and counted.

    PYTHONPATH=. .venv/bin/python -m tests.browser REPORT.html --screenshots docs/report
writes a screenshot of each section of a report (the README's pictures)."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
VIEWPORT = {"width": 1280, "height": 900}
# As the machine's notes advise for a closed network: no background connections, no first run.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--font-render-hinting=none",
]


def chromium() -> str:
    """The system Chromium, installed by the project's script if it is missing."""
    found = shutil.which("chromium")
    if found is None:
        subprocess.run(["sh", str(ROOT / "scripts" / "install-chromium.sh")], check=True)
        found = shutil.which("chromium")
    if found is None:
        raise RuntimeError("chromium is not installed and scripts/install-chromium.sh failed")
    return found


@dataclass
class Opened:
    """A report opened in the browser: the page, and what it asked for or complained of."""

    page: Page
    seconds: float  # from navigation until every chart is drawn
    requests: list[str] = field(default_factory=list)  # anything but the file itself
    errors: list[str] = field(default_factory=list)  # console errors and uncaught exceptions


@contextmanager
def open_report(
    path: Path, timeout_ms: int = 60_000, ready: str = "document.body.dataset.charts === 'drawn'"
) -> Iterator[Opened]:
    """Open a report file with the network refused; waits until `ready` (JavaScript) holds:
    by default, until the report's charts are drawn."""
    url = path.resolve().as_uri()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=FLAGS)
        try:
            context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
            page = context.new_page()
            opened = Opened(page, 0.0)

            def refuse(route: Any) -> None:
                if route.request.url == url:
                    route.continue_()
                else:
                    opened.requests.append(route.request.url)
                    route.abort()

            context.route("**/*", refuse)
            page.on(
                "console", lambda m: opened.errors.append(m.text) if m.type == "error" else None
            )
            page.on("pageerror", lambda e: opened.errors.append(str(e)))
            start = time.perf_counter()
            page.goto(url, wait_until="load", timeout=timeout_ms)
            page.wait_for_function(ready, timeout=timeout_ms)
            opened.seconds = time.perf_counter() - start
            yield opened
        finally:
            browser.close()


def screenshot_sections(opened: Opened, folder: Path) -> list[Path]:
    """A PNG of each section of the report, named by the section."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for section in opened.page.locator("section").all():
        key = section.get_attribute("id")
        target = folder / f"{key}.png"
        section.screenshot(path=str(target), animations="disabled")
        written.append(target)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--screenshots", type=Path, required=True)
    args = parser.parse_args()
    with open_report(args.report) as opened:
        for path in screenshot_sections(opened, args.screenshots):
            print(path)
        print(
            f"drawn in {opened.seconds:.2f} s; requests {opened.requests}; errors {opened.errors}"
        )


if __name__ == "__main__":
    main()
