"""The version environments of ``kit matrix``: one plain venv per pytest-asyncio x SQLAlchemy pair.

Each environment lives under ``state_dir()/envs/<key>`` (``KIT_ENV_CACHE`` overrides the directory, so CI and
kit's own tests build once), built with ``uv`` when it is on PATH, else ``python -m venv`` + pip. A marker file
is written only after a successful install, so a half-built environment is rebuilt, never used; a failed
install is reported on the returned :class:`MatrixEnv` (``error``), never raised. kit's recorder reaches an
environment through a ``.pth`` file naming a directory that holds only a link to the ``kit`` package:
``kit/__init__``, ``kit.plugin`` and ``kit.common`` import only the stdlib and pytest, so none of kit's own
dependencies leak into the versions being measured.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from kit.common.masking import mask_text
from kit.common.paths import state_dir
from kit.errors import EnvironmentBuildError

__all__ = ["MatrixEnv", "envs_dir", "requirements_for", "ensure_env", "COMPANIONS", "INSTALL_TIMEOUT"]

# What every environment gets besides the two pinned packages. asyncpg and httpx are pinned because their
# behaviour is part of the catalogue (httpx 0.28 removed AsyncClient(app=)); a change here changes every key.
COMPANIONS = ("asyncpg==0.32.0", "httpx==0.28.1", "fastapi>=0.110", "asgi-lifespan>=2.1")
MARKER = "kit-env.json"
INSTALL_TIMEOUT = 900.0


@dataclass
class MatrixEnv:
    """One environment: its pinned pair, where it lives, and what is really installed in it."""

    pytest_asyncio: str
    sqlalchemy: str
    key: str
    path: Path
    built: bool = False          # True when this call built it, False when a cached one was reused
    build_s: float = 0.0
    error: str | None = None     # the masked, actionable reason it could not be built
    versions: dict = field(default_factory=dict)

    @property
    def python(self) -> str:
        return str(self.path / "bin" / "python")

    @property
    def label(self) -> str:
        return f"pytest-asyncio {self.pytest_asyncio} + SQLAlchemy {self.sqlalchemy}"


def envs_dir() -> Path:
    """Where environments are cached: ``$KIT_ENV_CACHE``, else ``state_dir()/envs``."""
    explicit = os.environ.get("KIT_ENV_CACHE")
    path = Path(explicit).expanduser() if explicit else state_dir() / "envs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def requirements_for(pytest_asyncio: str, sqlalchemy: str) -> list[str]:
    """The pins of one environment: pytest-asyncio < 1.0 needs pytest < 9 (8.3.x); 1.x takes the newest."""
    from packaging.version import Version

    pytest_pin = "pytest>=8.3,<8.4" if Version(pytest_asyncio) < Version("1.0") else "pytest>=8.3"
    return [f"pytest-asyncio=={pytest_asyncio}", f"sqlalchemy[asyncio]=={sqlalchemy}", pytest_pin, *COMPANIONS]


def _key(pytest_asyncio: str, sqlalchemy: str, requirements: list[str]) -> str:
    recipe = "\n".join([sys.version.split()[0], *requirements])
    digest = hashlib.sha256(recipe.encode()).hexdigest()[:8]
    return f"pa{pytest_asyncio}-sa{sqlalchemy}-py{sys.version_info[0]}{sys.version_info[1]}-{digest}"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One builder per environment, across threads and kit processes."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run_step(command: list[str], log: Path, timeout: float, what: str) -> None:
    with open(log, "ab") as output:
        output.write(f"$ {' '.join(command)}\n".encode())
        output.flush()
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, 9)
            process.wait()
            raise EnvironmentBuildError(f"{what} took longer than {timeout:.0f} s and was stopped. "
                                        "Is the package registry slow or unreachable? Run `kit matrix` "
                                        "again to retry.") from None
    if code != 0:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
        tail = "\n".join(lines[-12:])
        raise EnvironmentBuildError(
            f"{what} failed (exit {code}). Its last lines:\n{mask_text(tail)}\nCheck that the versions exist "
            "(`pip index versions pytest-asyncio`, `pip index versions sqlalchemy`) and that the package "
            "registry is reachable; a failed environment is rebuilt on the next run.")


def _installer(python: str) -> list[str]:
    uv = shutil.which("uv")
    if uv:
        return [uv, "pip", "install", "--python", python, "--quiet"]
    return [sys.executable, "-m", "pip", "--python", python, "install", "--no-input", "--disable-pip-version-check",
            "--progress-bar", "off"]


def _link_kit(path: Path) -> None:
    """Make ``kit.plugin`` importable in the environment, pointing at this kit checkout (refreshed on reuse)."""
    package = Path(__file__).resolve().parents[1]  # the kit package
    holder = path / "kit-recorder"
    holder.mkdir(exist_ok=True)
    link = holder / "kit"
    if not (link.is_symlink() and os.readlink(link) == str(package)):
        temporary = holder / f".kit-{os.getpid()}-{threading.get_ident()}"
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(package, target_is_directory=True)
        os.replace(temporary, link)
    for site in path.glob("lib/python*/site-packages"):
        pth = site / "kit-recorder.pth"
        if not pth.exists() or pth.read_text().strip() != str(holder):
            pth.write_text(f"{holder}\n")



# Run by the environment's own interpreter: the versions it really has (kit.common is stdlib-only, so the one
# list of packages, kit.common.versions.PACKAGES, is read there too), and proof that kit's recorder imports.
_PROBE = ("import json\nimport kit.plugin\nfrom kit.common.versions import installed_versions\n"
          "print(json.dumps(installed_versions()))")


def _installed(python: str) -> dict:
    """The versions really installed, read by the environment's own interpreter (also proves the plugin loads)."""
    done = subprocess.run([python, "-c", _PROBE], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise EnvironmentBuildError("The environment was installed but its Python cannot import kit's recorder "
                                    f"(kit.plugin):\n{mask_text(done.stderr.strip()[-1500:])}\nDelete it and "
                                    "run `kit matrix` again.")
    return json.loads(done.stdout.strip().splitlines()[-1])


def ensure_env(pytest_asyncio: str, sqlalchemy: str, timeout: float = INSTALL_TIMEOUT) -> MatrixEnv:
    """The environment for one pair: reused when its marker exists, else (re)built. Never raises for a failed
    install: the returned env carries ``error`` instead."""
    requirements = requirements_for(pytest_asyncio, sqlalchemy)
    key = _key(pytest_asyncio, sqlalchemy, requirements)
    root = envs_dir()
    env = MatrixEnv(pytest_asyncio, sqlalchemy, key, root / key)
    marker = env.path / MARKER
    with _locked(root / f".{key}.lock"):
        if marker.is_file():
            with contextlib.suppress(ValueError, OSError):
                env.versions = json.loads(marker.read_text()).get("versions", {})
                _link_kit(env.path)
                return env
        started = time.monotonic()
        shutil.rmtree(env.path, ignore_errors=True)   # half-built or unreadable: start again
        env.path.mkdir(parents=True)
        log = env.path / "build.log"
        try:
            _run_step([sys.executable, "-m", "venv", "--without-pip", str(env.path)], log, 120,
                      "Creating the virtual environment")
            _run_step([*_installer(env.python), *requirements], log, timeout,
                      f"Installing {env.label}")
            _link_kit(env.path)
            env.versions = _installed(env.python)
        except EnvironmentBuildError as error:
            env.error = str(error)
            shutil.rmtree(env.path, ignore_errors=True)
        except OSError as error:
            env.error = f"Cannot create {env.path} ({error}). Set KIT_ENV_CACHE to a writable directory."
            shutil.rmtree(env.path, ignore_errors=True)
        env.build_s = round(time.monotonic() - started, 1)
        if env.error is None:
            env.built = True
            payload = {"pytest_asyncio": pytest_asyncio, "sqlalchemy": sqlalchemy, "requirements": requirements,
                       "versions": env.versions, "build_s": env.build_s,
                       "built_at": datetime.now(UTC).isoformat(timespec="seconds")}
            temporary = env.path / f".{MARKER}.tmp"
            temporary.write_text(json.dumps(payload, indent=2) + "\n")
            os.replace(temporary, marker)   # only now is the environment usable
    return env
