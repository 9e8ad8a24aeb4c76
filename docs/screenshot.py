"""``python docs/screenshot.py``: the README's picture of a report, taken by a real browser.

The picture must show what a colleague sees when they open a shared report, so it is taken the way
kit's browser tests open reports: Debian's Chromium driven by Playwright, from a ``file://`` URL, offline,
every request that would leave the machine aborted. kit never downloads a browser (no ``playwright
install``): it uses the system's Chromium (``/usr/bin/chromium``, or ``KIT_CHROMIUM``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from kit.common.paths import project_root
from kit.errors import BrowserMissing, KitError, ReportError

__all__ = ["CHROMIUM_ARGS", "OfflinePage", "browser_problem", "chromium_path", "launch",
           "offline_page", "screenshot_report", "main"]

# Headless and quiet: no GPU, no sandbox (containers, root), and none of Chromium's own traffic
# (component updates, sync, field trials) so that "no request leaves the machine" is checkable.
CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync")
WIDTH = 1200



def chromium_path() -> Path:
    return Path(os.environ.get("KIT_CHROMIUM") or "/usr/bin/chromium")


def browser_problem() -> str | None:
    """Why a browser cannot be driven here (one paragraph saying what to install), or None."""
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the Python package `playwright` (`pip install playwright`, or `pip install -e \".[test]\"`)")
    chromium = chromium_path()
    if not (chromium.is_file() and os.access(chromium, os.X_OK)):
        missing.append(f"a Chromium at {chromium} (Debian/Ubuntu: `sudo apt-get install chromium`; elsewhere "
                       "set KIT_CHROMIUM to your Chrome or Chromium executable)")
    if not missing:
        return None
    return (f"Driving a browser needs {' and '.join(missing)}. kit uses the system's Chromium and never "
            "downloads one: `playwright install` is not needed.")


@contextmanager
def launch(timeout: float = 60) -> Iterator[object]:
    """A headless Chromium browser (Playwright's sync API), closed on exit."""
    problem = browser_problem()
    if problem:
        raise BrowserMissing(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path()), args=list(CHROMIUM_ARGS),
                                             timeout=timeout * 1000)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class OfflinePage:
    """A page that can only read ``file://`` and ``data:`` URLs, and what it tried and complained about."""

    page: object
    blocked: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


@contextmanager
def offline_page(browser, width: int = WIDTH, height: int = 900, timeout: float = 30) -> Iterator[OfflinePage]:
    """A fresh offline browser context: every request that is not ``file:``/``data:`` is aborted and recorded."""
    context = browser.new_context(viewport={"width": width, "height": height}, offline=True)
    context.set_default_timeout(timeout * 1000)
    page = context.new_page()
    result = OfflinePage(page)

    def guard(route) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:")):
            route.continue_()
        else:
            result.blocked.append(url)
            route.abort()

    context.route("**/*", guard)
    page.on("console", lambda message: message.type == "error" and result.console_errors.append(message.text))
    page.on("pageerror", lambda error: result.console_errors.append(str(error)))
    try:
        yield result
    finally:
        context.close()


def screenshot_report(report: Path, out: Path, width: int = WIDTH, max_height: int = 1800) -> Path:
    """Save a PNG of ``report``: its top down to the bottom of its first plot (header, tables, plot)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with launch() as browser, offline_page(browser, width=width) as view:
        view.page.goto(report.resolve().as_uri(), wait_until="load")
        view.page.wait_for_function("Array.from(document.images).every(i => i.complete)")
        bottom = view.page.evaluate("""() => {
            const plot = document.querySelector('.jp-OutputArea-output img');
            const end = plot ? plot.getBoundingClientRect().bottom + window.scrollY + 24
                             : document.documentElement.scrollHeight;
            return Math.ceil(Math.min(end, document.documentElement.scrollHeight));
        }""")
        view.page.screenshot(path=str(out), full_page=True,
                             clip={"x": 0, "y": 0, "width": width, "height": min(bottom, max_height)})
    if view.blocked:
        raise ReportError(f"The report {report} tried to fetch {', '.join(view.blocked)}: reports must open offline.")
    return out


def _investigate(directory: Path, timeout: float) -> Path:
    """Run ``kit investigate`` for notebook 01 (as a user would) and return its report."""
    command = [sys.executable, "-m", "kit", "investigate", "--out", str(directory), "01_connectivity"]
    completed = subprocess.run(command, timeout=timeout, stdout=sys.stderr)
    if completed.returncode != 0:
        raise ReportError(f"`{' '.join(command[2:])}` failed (exit {completed.returncode}); see its output above.")
    return directory / "01_connectivity.html"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python docs/screenshot.py",
                                     description="Screenshot a kit report (the README's docs/report.png).")
    parser.add_argument("--out", type=Path, default=project_root() / "docs" / "report.png",
                        help="PNG to write (default: docs/report.png in the checkout)")
    parser.add_argument("--reports", type=Path, default=None,
                        help="an existing `kit investigate` output directory; default: run notebook 01 into a temp dir")
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed for `kit investigate`")
    args = parser.parse_args(argv)
    scratch = None
    try:
        problem = browser_problem()
        if problem:
            raise BrowserMissing(problem)
        if args.reports is None:
            scratch = Path(tempfile.mkdtemp(prefix="kit-screenshot-"))
            report = _investigate(scratch, args.timeout)
        else:
            report = args.reports / "01_connectivity.html"
            if not report.is_file():
                report = next(iter(sorted(args.reports.glob("[0-9]*.html"))), report)
            if not report.is_file():
                raise ReportError(f"No report in {args.reports}: run `kit investigate --out {args.reports}` first.")
        print(screenshot_report(report, args.out))
        return 0
    except KitError as error:
        print(f"screenshot: {error}", file=sys.stderr)
        return error.exit_code
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
