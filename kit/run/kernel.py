"""Executing a notebook in a real Jupyter kernel from the installed environment (nbclient).

One place for it: ``kit investigate`` runs the investigation notebooks this way, and the catalogue's
notebook entries run their cells this way too, so their records come from a real kernel's event loop.
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nbformat import NotebookNode

from kit.run import cancel

__all__ = ["execute_notebook", "failed_cell", "import_nbformat", "notebook_from_cells"]


@functools.cache
def import_nbformat() -> ModuleType:
    """``import nbformat`` (call it before nbclient or nbconvert), without a 2.5 s detour kit never uses.

    nbformat validates with jsonschema, whose format checkers import ``rfc3987_syntax`` when it is installed
    (JupyterLab's dependencies install it), and that module compiles ~40 Lark grammars at import time: 2.5 s
    per process on this machine, in ``kit investigate`` and in every kernel that runs a notebook entry.
    Hiding it while jsonschema loads costs this process only jsonschema's "iri" format checks.
    """
    hidden = "rfc3987_syntax" not in sys.modules
    if hidden:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # makes its import raise ImportError
    try:
        import nbformat
    finally:
        if hidden:
            del sys.modules["rfc3987_syntax"]
    return nbformat


def execute_notebook(notebook: NotebookNode, cwd: Path, timeout: float,
                     env: dict[str, str] | None = None) -> str | None:
    """Execute ``notebook`` in place; return None, or why execution stopped before the end.

    A failing cell leaves its error output in the notebook (see :func:`failed_cell`); timeouts and dead
    kernels come back as text. The kernel talks over IPC sockets in a private directory: no TCP port.
    """
    import_nbformat()
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    with tempfile.TemporaryDirectory(prefix="kit-kernel-") as sockets:
        manager = KernelManager(kernel_name="python3", transport="ipc", ip=str(Path(sockets) / "kernel"))
        # "immediate": the notebook's work is done and recorded; a graceful shutdown only waits ~0.7 s.
        client = NotebookClient(notebook, km=manager, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(cwd)}}, shutdown_kernel="immediate")
        client.owns_km = True  # so nbclient shuts the kernel down when the notebook ends
        kernel_group: list[int] = []

        def started(**_: object) -> None:  # nbclient hook: the kernel runs, no cell has yet
            kernel_group.append(os.getpgid(manager.provisioner.process.pid))
            cancel.add(kernel_group[0])

        client.on_notebook_start = started
        try:
            if cancel.interrupted():
                return "kit was interrupted"
            client.execute(env={**os.environ, **(env or {})})
        except CellTimeoutError:
            return f"a cell ran longer than {timeout:.0f} s"
        except DeadKernelError as exc:
            return f"the kernel died ({exc})"
        except CellExecutionError:
            return None  # the error output is in the notebook
        finally:
            for group in kernel_group:
                cancel.discard(group)
    return "kit was interrupted" if cancel.interrupted() else None


def failed_cell(notebook: NotebookNode) -> tuple[int | None, str | None]:
    """Index and ``Name: message`` of the first cell with an error output."""
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return index, f"{output.get('ename')}: {output.get('evalue')}"[:500]
    return None, None


def notebook_from_cells(source: str) -> NotebookNode:
    """A notebook from a ``# %%``-separated script (how the catalogue's notebook entries are written)."""
    import_nbformat()
    from nbformat.v4 import new_code_cell, new_notebook

    chunks = [chunk.strip("\n") for chunk in source.split("# %%")]
    notebook = new_notebook(cells=[new_code_cell(chunk) for chunk in chunks if chunk.strip()])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook
