"""A real browser (Debian's Chromium, driven by Playwright) on JupyterLab and on the shared reports.

Under CI (``CI=true``) these tests must run: a missing Chromium or Playwright fails them with what to
install. On a machine without them they skip, saying why. Screenshots land in each test's tmp dir.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import REPO, assert_no_traceback
from screenshot import browser_problem, launch, offline_page

NOTEBOOK = "01_connectivity"
_UNDER_CI = os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for this module (module-scoped: Playwright's sync API runs its own event loop)."""
    problem = browser_problem()
    if problem:
        if _UNDER_CI:
            pytest.fail(f"CI=true and no browser: {problem}", pytrace=False)
        print(f"\nskipping browser tests: {problem}")
        pytest.skip(problem)
    with launch() as chromium:
        yield chromium


# -- JupyterLab ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, timeout: float = 5) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def _lab_settings(config: Path) -> None:
    """User settings of the private lab: never write the notebook back (autosave off), never ask for news,
    render every cell."""
    for plugin, settings in (("docmanager-extension/plugin", {"autosave": False}),
                             ("apputils-extension/notification", {"fetchNews": "false"}),
                             # every cell in the DOM: a long notebook is otherwise rendered only near the view
                             ("notebook-extension/tracker", {"windowingMode": "none"})):
        path = config / "lab" / "user-settings" / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))


@pytest.fixture
def lab(target, tmp_path):
    """``jupyter lab`` serving a copy of ``notebooks/``, with private Jupyter dirs and the session's kit."""
    root, private = tmp_path / "root", tmp_path / "jupyter"
    shutil.copytree(REPO / "notebooks", root / "notebooks")
    _lab_settings(private / "config")
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(private / "runtime"), "JUPYTER_CONFIG_DIR": str(private / "config"),
           "JUPYTER_DATA_DIR": str(private / "data"), "IPYTHONDIR": str(private / "ipython"),
           "JUPYTER_PLATFORM_DIRS": "1"}
    env.pop("DATABASE_URL", None)  # the kernel resolves the session's embedded server through KIT_STATE_DIR
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log = (tmp_path / "jupyter.log").open("w")
    process = subprocess.Popen(command, env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"jupyter lab exited with {process.returncode}:\n{(tmp_path / 'jupyter.log').read_text()}")
            try:
                _get(f"{base}/api/status?token={token}")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not answer in 120 s:\n{(tmp_path / 'jupyter.log').read_text()}")
                time.sleep(0.5)
        yield base, token, root
    finally:
        try:  # shuts the kernels down too
            shutdown = urllib.request.Request(f"{base}/api/shutdown?token={token}", method="POST")
            urllib.request.urlopen(shutdown, timeout=10)
            process.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=15)
        log.close()


def _kernels_idle(base: str, token: str) -> bool:
    try:  # the server may answer 500 while a kernel is still starting: just ask again
        kernels = _get(f"{base}/api/kernels?token={token}")
    except OSError:
        return False
    return bool(kernels) and all(k["execution_state"] == "idle" for k in kernels)


def _wait(page, condition, timeout: float, what: str, interval: float = 0.5) -> None:
    """Poll ``condition``, sleeping through the page: Playwright's routes only run inside its own calls."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        page.wait_for_timeout(interval * 1000)


@contextlib.contextmanager
def _run_all_cells(browser, lab, name: str, tmp_path: Path):
    """Open notebook ``name`` in the private JupyterLab, Run All from the menu, wait until every cell ran; yield
    the notebook's locator. Afterwards: nothing fetched from outside, the notebook never saved, no files left."""
    base, token, root = lab
    committed = (REPO / "notebooks" / f"{name}.ipynb").read_bytes()
    served = root / "notebooks" / f"{name}.ipynb"
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(60_000)
    leaving: list[str] = []

    def local_only(route) -> None:  # JupyterLab is served locally: nothing else may be fetched
        url = route.request.url
        if url.startswith((base, "data:", "blob:")):
            route.continue_()
        else:
            leaving.append(url)
            route.abort()

    context.route("**/*", local_only)
    page = context.new_page()
    started = time.monotonic()
    try:
        page.goto(f"{base}/lab/tree/notebooks/{name}.ipynb?token={token}", wait_until="domcontentloaded")
        notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")
        notebook.locator(".jp-CodeCell").first.wait_for(state="visible", timeout=120_000)
        _wait(page, lambda: _kernels_idle(base, token), 40, "the kernel to start")
        assert notebook.locator(".jp-CodeCell").count() >= 4

        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name=re.compile(r"^Run All Cells")).click()
        prompts = notebook.locator(".jp-CodeCell .jp-InputPrompt")
        _wait(page, lambda: all(re.fullmatch(r"\[\d+\]:", t.strip()) for t in prompts.all_inner_texts()), 240,
              "every code cell to have run (an error stops Run All)")
        _wait(page, lambda: _kernels_idle(base, token), 60, "the kernel to be idle")
        print(f"\nJupyterLab: notebook {name} opened and run in {time.monotonic() - started:.1f} s")
        texts = notebook.locator(".jp-OutputArea-output").all_inner_texts()
        assert not any("Traceback" in t for t in texts), texts
        # nothing on stderr (an error, or progress lines JupyterLab paints as a pink box)
        stderr = notebook.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
        assert stderr.count() == 0, stderr.all_inner_texts()
        assert not any("\r" in t or t.count("\n") > 200 for t in texts)  # progress is clean lines
        assert not any("PytestConfigWarning" in t for t in texts)
        yield page, notebook, texts
        assert not leaving, leaving
        shot = tmp_path / f"jupyterlab-{name}.png"
        page.screenshot(path=str(shot))
        print(f"JupyterLab screenshot: {shot}")
    except BaseException:
        page.screenshot(path=str(tmp_path / "jupyterlab-failure.png"))
        print(f"\nJupyterLab at the failure: {tmp_path / 'jupyterlab-failure.png'}; log: {tmp_path / 'jupyter.log'}")
        raise
    finally:
        context.close()
    assert served.read_bytes() == committed, "JupyterLab saved the notebook (it must stay without outputs)"
    left = {p.name for p in served.parent.iterdir()} - {p.name for p in (REPO / "notebooks").iterdir()}
    assert not left - {".ipynb_checkpoints"}, f"running the notebook left files next to it: {left}"
    assert (REPO / "notebooks" / f"{name}.ipynb").read_bytes() == committed


@pytest.mark.browser
@pytest.mark.slow
def test_notebook_01_runs_all_cells_in_jupyterlab(browser, lab, tmp_path):
    with _run_all_cells(browser, lab, NOTEBOOK, tmp_path) as (page, notebook, texts):
        table = notebook.locator(".jp-OutputArea-output table.dataframe").first
        table.wait_for(state="visible")
        checks = table.inner_text()
        assert all(name in checks for name in ("tcp", "asyncpg", "sqlalchemy", "pytest")), checks
        plot = notebook.locator(".jp-OutputArea-output img").first
        plot.scroll_into_view_if_needed()
        assert plot.evaluate("img => img.complete && img.naturalWidth > 0")
        assert "1 passed" in "\n".join(texts)  # the inline %%ipytest run


@pytest.mark.browser
@pytest.mark.slow
def test_notebook_07_findings_render_as_html_that_fits_the_page(browser, lab, tmp_path):
    with _run_all_cells(browser, lab, "07_diagnose_your_suite", tmp_path) as (page, notebook, texts):
        diagnosis = notebook.locator(".jp-OutputArea-output .kit-diagnosis").first
        diagnosis.wait_for(state="visible")
        findings = diagnosis.locator("section.finding")
        assert findings.count() >= 1
        text = diagnosis.inner_text()
        assert "module-engine-per-test-loop" in text or "legacy-event-loop-override" in text, text
        assert "Fix" in text and "Evidence" in text and "`" not in text  # backticks rendered as code
        assert diagnosis.locator("code").count() >= 1
        plot = notebook.locator(".jp-OutputArea-output img").last  # the timeline cell still draws inline
        plot.scroll_into_view_if_needed()
        assert plot.evaluate("img => img.complete && img.naturalWidth > 0")
        # Nothing wider than the output area: no horizontal scrolling inside the diagnosis or its cards.
        overflow = diagnosis.evaluate("""d => {
            const area = d.closest('.jp-OutputArea-output').getBoundingClientRect();
            return [d, ...d.querySelectorAll('section, table, pre')]
                .filter(e => e.getBoundingClientRect().right > area.right + 1 || e.scrollWidth > e.clientWidth + 1)
                .map(e => e.tagName + '.' + e.className);
        }""")
        assert not overflow, overflow


# -- the shared reports ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def reports(target, tmp_path_factory) -> Path:
    """``kit investigate --out TMP 01_connectivity``, as a user runs it."""
    out = tmp_path_factory.mktemp("reports")
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "kit", "investigate", "--out", str(out), NOTEBOOK],
                            capture_output=True, text=True, timeout=600, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    print(f"\nkit investigate {NOTEBOOK}: {time.monotonic() - started:.1f} s")
    return out


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", data[16:24])


@pytest.mark.browser
@pytest.mark.slow
def test_reports_open_offline_with_every_image_and_no_console_error(browser, reports, tmp_path):
    executed = json.loads((reports / f"{NOTEBOOK}.ipynb").read_text())
    streams = ["".join(o.get("text", "")) for c in executed["cells"] for o in c.get("outputs", [])
               if o.get("output_type") == "stream"]
    assert not any(re.search(r"\r(?!\n)", s) for s in streams), streams  # no carriage-return walls

    with offline_page(browser) as view:
        page = view.page
        page.goto((reports / "index.html").as_uri(), wait_until="load")
        links = page.eval_on_selector_all("a[href$='.html']", "links => links.map(a => a.href)")
        assert links == [(reports / f"{NOTEBOOK}.html").as_uri()], links
        assert "passed" in page.inner_text("table")
        page.screenshot(path=str(tmp_path / "index.png"), full_page=True)
        print(f"\nreport screenshots: {tmp_path / 'index.png'}")

        for link in links:
            page.goto(link, wait_until="load")
            page.wait_for_function("Array.from(document.images).every(i => i.complete)", timeout=30_000)
            images = page.evaluate("Array.from(document.images).map(i => i.naturalWidth)")
            assert images and all(width > 0 for width in images), images
            header = page.inner_text(".kit-header")
            assert "passed" in header and "embedded" in header, header
            assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", header) and "python 3." in header, header
            toc = page.locator(".kit-toc a")
            assert toc.count() >= 3, page.inner_html(".kit-toc")
            for i in range(toc.count()):  # every entry leads to its heading
                entry = toc.nth(i)
                entry.click()
                landed = page.evaluate("document.querySelector(':target')?.textContent || ''")
                assert entry.inner_text().strip() in landed, (entry.inner_text(), landed)
            page.evaluate("window.scrollTo(0, 0)")
            shot = tmp_path / Path(link).name.replace(".html", ".png")
            page.screenshot(path=str(shot), full_page=True)
            print(f"report screenshots: {shot}")
        assert not view.blocked, f"requests left the machine: {view.blocked}"
        assert not view.console_errors, view.console_errors


@pytest.mark.browser
@pytest.mark.slow
def test_kit_screenshot_writes_the_readme_picture(browser, reports, tmp_path):
    out = tmp_path / "report.png"
    result = subprocess.run([sys.executable, str(REPO / "docs" / "screenshot.py"), "--reports", str(reports),
                             "--out", str(out)], capture_output=True, text=True, timeout=180, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == str(out)
    width, height = _png_size(out)
    assert width == 1200 and 700 <= height <= 1800, (width, height)
    print(f"\ndocs/screenshot.py: {out} ({width}x{height})")


def test_kit_screenshot_without_a_browser_says_what_to_install(tmp_path):
    env = {**os.environ, "KIT_CHROMIUM": str(tmp_path / "no-chromium")}
    result = subprocess.run([sys.executable, str(REPO / "docs" / "screenshot.py"), "--out", str(tmp_path / "x.png")],
                            capture_output=True, text=True, timeout=60, cwd=REPO, env=env)
    assert result.returncode == 2
    assert "apt-get install chromium" in result.stderr and "playwright install" in result.stderr
    assert_no_traceback(result.stderr)
    assert not (tmp_path / "x.png").exists()


@pytest.mark.browser
def test_chromium_starts(browser):
    page = browser.new_page()
    try:
        page.set_content("<p id='x'>kit</p>")
        assert page.inner_text("#x") == "kit" and browser.version
    finally:
        page.close()


@pytest.mark.parametrize("ci", ["true", ""])
def test_without_a_browser_ci_fails_and_a_user_machine_skips(ci, tmp_path):
    env = {**os.environ, "KIT_CHROMIUM": str(tmp_path / "no-chromium"), "CI": ci}
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs",
                             f"{Path(__file__)}::test_chromium_starts"],
                            capture_output=True, text=True, timeout=120, cwd=REPO, env=env)
    if ci:
        assert result.returncode == 1 and "1 error" in result.stdout, result.stdout
        assert "CI=true and no browser" in result.stdout
    else:
        assert result.returncode == 0 and "1 skipped" in result.stdout, result.stdout
        assert "apt-get install chromium" in result.stdout
