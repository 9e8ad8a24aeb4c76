"""The conflict catalogue: loading entries and assembling a runnable pytest project for a variant.

An entry is a directory ``kit/catalogue/<id>/`` holding ``scenario.toml`` (the metadata below),
``common/`` (files both variants share), ``broken/`` and ``fixed/`` (what differs). Files in
``kit/catalogue/_shared/`` are copied into every entry first. Assembling a variant copies shared, common,
then the variant's own files into a fresh directory, so a reader sees one ordinary pytest project.

``scenario.toml``::

    id = "module-engine-per-test-loop"
    title = "..."
    timeout = 60               # optional: seconds before the runner kills the run (hang entries use ~10)
    kind = "pytest"            # or "notebook": the variant's cells*.py files (``# %%``-separated cells,
                               # in name order) run as a notebook in a real kernel
    explanation = "..."        # why it happens, 3-6 sentences
    fix = "..."                # what to change
    [fixes]                    # optional: the fix where the suite differs from the entry's own shape, by context:
    anyio = "..."              #   tests run by AnyIO's pytest plugin; "sync": sync tests driving loops themselves;
    sync-session = "..."       #   "sync-session": a sync Session (kit.diagnose picks the one that fits)
    references = ["pytest-asyncio #402", "..."]
    [symptom]                  # what the broken variant shows
    error_type = "RuntimeError"          # exception class name (last dotted part; "A|B": either), or "timeout"
    message = "attached to a different loop"   # regex searched in the message
    phase = "call"             # setup | call | teardown | log | any
    [[secondary]]              # fallout later in the same run
    error_type = "InterfaceError"
    message = "another operation is in progress"
    [versions]                 # optional: where `kit matrix` should see the variants behave otherwise
    broken_passes_on = ["pytest-asyncio<1.0"]          # the broken variant passes there
    broken_differs_on = ["pytest-asyncio<0.23"]        # it fails, but not with the symptom above
    fixed_fails_on = ["pytest-asyncio<0.26"]           # the fix does not work there
    reason = "..."                                     # why, for the matrix and the upgrade advisor
    cliff = true                                       # a headline cliff: in `kit matrix`'s default set
    (each list is OR-ed; one item may AND several packages: "pytest-asyncio>=1.0 and sqlalchemy<2.1")
    [repair]                   # optional: `kit fix` has no mechanical repair for this cause (a design change)
    mechanical = false
    reason = "..."             #   why, as `kit fix` reports it under "unfixed"
    services = ["redis"]       # optional: the run gets REDIS_URL, a scratch Redis database flushed afterwards
    [drivers.psycopg]          # optional: the entry also runs on SQLAlchemy's psycopg 3 driver (asyncpg is implied)
    broken = "symptom"         #   "symptom" (as [symptom], or `symptom` below), "passes", "differs" (fails otherwise)
    symptom = {error_type = "...", message = "...", phase = "..."}   # the symptom on this driver, when its own
    reason = "..."             #   measured: why the driver behaves so
"""

from __future__ import annotations

import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from kit.errors import ScenarioError

__all__ = ["Symptom", "Scenario", "catalogue", "get_scenario", "assemble", "CATALOGUE_DIR", "DRIVERS"]

CATALOGUE_DIR = Path(__file__).parent
VARIANTS = ("broken", "fixed")
DRIVERS = ("asyncpg", "psycopg")   # SQLAlchemy's async PostgreSQL drivers an entry can run on
DEFAULT_DRIVER = "asyncpg"


@dataclass(frozen=True)
class Symptom:
    """What an entry's run shows (the ``[symptom]`` table); :mod:`kit.catalogue.judge` matches it."""

    error_type: str
    message: str = ""
    phase: str = "any"


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    kind: str
    symptom: Symptom
    explanation: str
    fix: str
    references: tuple[str, ...] = ()
    secondary: tuple[Symptom, ...] = ()
    timeout: float | None = None
    path: Path = field(default=CATALOGUE_DIR, repr=False)
    versions: dict = field(default_factory=dict, repr=False, hash=False, compare=False)  # the [versions] table
    fixes: dict = field(default_factory=dict, repr=False, hash=False, compare=False)  # the [fixes] table
    services: tuple[str, ...] = ()
    drivers: dict = field(default_factory=dict, repr=False, hash=False, compare=False)  # the [drivers] table
    repair: dict = field(default_factory=dict, repr=False, hash=False, compare=False)  # the [repair] table

    @property
    def supported_drivers(self) -> tuple[str, ...]:
        """The drivers the entry runs on: asyncpg, and each one its ``[drivers]`` table declares."""
        return (DEFAULT_DRIVER, *(d for d in DRIVERS if d in self.drivers and d != DEFAULT_DRIVER))

    def broken_on(self, driver: str = DEFAULT_DRIVER) -> tuple[str, Symptom | None]:
        """What the broken variant does on ``driver``: ``("symptom", the symptom it shows)``, ``("passes", None)``
        or ``("differs", None)`` (fails some other way)."""
        declared = self.drivers.get(driver) or {}
        expected = declared.get("broken", "symptom")
        if expected != "symptom":
            return expected, None
        return "symptom", Symptom(**declared["symptom"]) if "symptom" in declared else self.symptom

    def fix_in(self, context: str | None) -> str:
        """The fix for a suite of this ``context`` (a key of ``[fixes]``), else the entry's own fix."""
        return (self.fixes.get(context) or self.fix).strip() if context else self.fix

    def time_limit(self, variant: str, default: float = 120.0) -> float:
        """Seconds a variant may run: the entry's own ``timeout`` bounds its broken variant (an expected
        hang is cut short there); the fixed variant must pass, so a slow machine gets the default."""
        return self.timeout if self.timeout and variant == "broken" else default

    def as_dict(self) -> dict:
        return {
            "id": self.id, "title": self.title, "kind": self.kind,
            "symptom": vars(self.symptom), "explanation": self.explanation, "fix": self.fix,
            "references": list(self.references), "secondary": [vars(s) for s in self.secondary],
            "versions": dict(self.versions), "fixes": dict(self.fixes), "services": list(self.services),
            "drivers": {d: dict(self.drivers.get(d) or {}) for d in self.supported_drivers},
        }


def _load(directory: Path) -> Scenario:
    meta = tomllib.loads((directory / "scenario.toml").read_text())
    drivers = meta.get("drivers", {})
    for driver, declared in drivers.items():
        if driver not in DRIVERS or declared.get("broken", "symptom") not in ("symptom", "passes", "differs"):
            raise ScenarioError(f"{directory.name}/scenario.toml: [drivers.{driver}] must name one of "
                                f"{', '.join(DRIVERS)} with broken = symptom | passes | differs.")
    return Scenario(
        id=meta["id"], title=meta["title"], kind=meta.get("kind", "pytest"),
        symptom=Symptom(**meta["symptom"]), explanation=meta["explanation"].strip(), fix=meta["fix"].strip(),
        references=tuple(meta.get("references", ())),
        secondary=tuple(Symptom(**s) for s in meta.get("secondary", ())), timeout=meta.get("timeout"),
        path=directory, versions=meta.get("versions", {}), fixes=meta.get("fixes", {}),
        services=tuple(meta.get("services", ())), drivers=drivers, repair=meta.get("repair", {}),
    )


def catalogue() -> list[Scenario]:
    """Every entry, in directory-name order."""
    return [_load(d) for d in sorted(CATALOGUE_DIR.iterdir()) if (d / "scenario.toml").is_file()]


def get_scenario(scenario_id: str) -> Scenario:
    directory = CATALOGUE_DIR / scenario_id
    if not (directory / "scenario.toml").is_file():
        known = ", ".join(s.id for s in catalogue())
        raise ScenarioError(f"There is no catalogue entry '{scenario_id}'. Known entries: {known}. "
                            "`kit scenarios list` shows them with their symptoms.")
    return _load(directory)


def assemble(scenario: Scenario, variant: str, destination: Path) -> Path:
    """Copy the shared files, the entry's common files and the variant's files into ``destination``."""
    if variant not in VARIANTS:
        raise ScenarioError(f"Unknown variant '{variant}': use one of {', '.join(VARIANTS)} (or both).")
    destination.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", ".pytest_cache")
    for source in (CATALOGUE_DIR / "_shared", scenario.path / "common", scenario.path / variant):
        if source.is_dir():
            shutil.copytree(source, destination, dirs_exist_ok=True, ignore=ignore)
    return destination
