"""The database target: the embedded server by default, or ``DATABASE_URL`` / ``--url``.

Everything kit creates or drops goes through this module, so the safety guard lives here: kit refuses
to create or drop anything through a server whose target database name does not contain ``test``
unless the caller passes ``allow_any_database=True`` (the CLI's explicit flag; never implied by the
environment). The embedded server is kit's own and always allowed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass, replace
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from kit.common.masking import mask_text, mask_url, register_secret
from kit.errors import TargetError, UnsafeTargetError

__all__ = ["KIT_OWN_DATABASE_URL", "Target", "check_reachable", "export_own_database_url", "resolve_target",
           "user_database_url", "explain_connection_error", "scratch_database", "connect", "server_version",
           "reachable"]

_SCHEMES = {"postgresql", "postgres", "postgresql+asyncpg", "postgresql+psycopg", "postgresql+psycopg2"}
_TEST_NAME = re.compile(r"test", re.I)


@dataclass(frozen=True)
class Target:
    """A PostgreSQL database kit may use. ``url`` holds the real secret: never print it, print ``masked``."""

    url: str
    kind: str  # "embedded" | "url"
    allow_any_database: bool = False
    scheme: str = "postgresql+asyncpg"  # as the user wrote it: the driver a suite must be handed (kit uses asyncpg)

    @property
    def driver(self) -> str | None:
        """The driver the user's URL names (``psycopg`` for ``postgresql+psycopg://``), None when it names none."""
        return self.scheme.split("+", 1)[1] if "+" in self.scheme else None

    def url_for(self, driver: str | None = None) -> str:
        """This database's URL for a suite, with ``driver`` (or the user's own scheme when None): kit itself always
        connects with asyncpg, but a suite must run on the driver it was written for."""
        scheme = f"postgresql+{driver}" if driver else self.scheme
        return urlunsplit((scheme, *urlsplit(self.url)[1:]))

    @property
    def _parts(self):
        return urlsplit(self.url)

    @property
    def masked(self) -> str:
        return mask_url(self.url)

    @property
    def host(self) -> str:
        return self._parts.hostname or "localhost"

    @property
    def port(self) -> int:
        return self._parts.port or 5432

    @property
    def user(self) -> str | None:
        return unquote(self._parts.username) if self._parts.username else None

    @property
    def password(self) -> str | None:
        return unquote(self._parts.password) if self._parts.password else None

    @property
    def database(self) -> str:
        return unquote(self._parts.path.lstrip("/")) or (self.user or "postgres")

    def with_database(self, name: str) -> Target:
        parts = self._parts
        return replace(self, url=urlunsplit((parts.scheme, parts.netloc, "/" + quote(name), parts.query, "")))

    def require_test_database(self, action: str) -> None:
        """Refuse ``action`` (create/drop) unless this is the embedded server or a test database."""
        if self.kind == "embedded" or self.allow_any_database or _TEST_NAME.search(self.database):
            return
        raise UnsafeTargetError(
            f"kit will not {action} on the server of database '{self.database}' ({self.masked}): its name "
            "does not contain 'test', so it may not be a test database. Point DATABASE_URL or --url at a "
            "test database (for example the docker-compose test-db, database 'app_test'), or pass "
            "--allow-any-database if you are sure this server holds nothing you need."
        )


def _scheme(url: str) -> str:
    """The URL's scheme as the user gave it, ``postgres`` spelled ``postgresql``."""
    scheme = urlsplit(url.strip()).scheme
    return "postgresql" + scheme[len("postgres"):] if scheme.startswith("postgres") and not scheme.startswith(
        "postgresql") else scheme


def _normalise(url: str) -> str:
    text = url.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise TargetError(f"The database URL {mask_url(text)!r} is malformed ({exc}). Use the form "
                          "postgresql+asyncpg://user:password@host:5432/app_test.") from None
    if parts.scheme not in _SCHEMES:
        raise TargetError(
            f"The database URL {mask_url(text)!r} is not a PostgreSQL URL (scheme '{parts.scheme or '?'}'). "
            "kit investigates asyncpg/PostgreSQL suites: use postgresql+asyncpg://user:password@host:5432/app_test."
        )
    if not parts.hostname:
        raise TargetError(f"The database URL {mask_url(text)!r} names no host. Use the form "
                          "postgresql+asyncpg://user:password@host:5432/app_test.")
    return urlunsplit(("postgresql+asyncpg", parts.netloc, parts.path, parts.query, ""))


KIT_OWN_DATABASE_URL = "KIT_OWN_DATABASE_URL"    # the DATABASE_URL value kit exported itself
KIT_USER_DATABASE_URL = "KIT_USER_DATABASE_URL"  # the user's DATABASE_URL that kit's own export replaced


def user_database_url() -> str | None:
    """The database the user chose through ``DATABASE_URL``, or None.

    Notebooks export a URL of kit's choosing as ``DATABASE_URL`` (for ``%%ipytest`` cells); that value must
    never be mistaken for the user's choice, or a suite diagnosed from a notebook would run in kit's shared
    database instead of a scratch one.
    """
    value = os.environ.get("DATABASE_URL")
    if value and value == os.environ.get(KIT_OWN_DATABASE_URL):
        return os.environ.get(KIT_USER_DATABASE_URL) or None
    return value or None


def export_own_database_url(url: str) -> None:
    """Export ``url`` as ``DATABASE_URL`` for code that reads it (ipytest cells), marked as kit's own."""
    users = user_database_url()
    os.environ["DATABASE_URL"] = os.environ[KIT_OWN_DATABASE_URL] = url
    if users:
        os.environ[KIT_USER_DATABASE_URL] = users
    else:
        os.environ.pop(KIT_USER_DATABASE_URL, None)


def resolve_target(url: str | None = None, *, allow_any_database: bool = False, start: bool = True) -> Target:
    """``url`` if given, else the user's ``DATABASE_URL``, else the embedded server (started or reused)."""
    explicit = url or user_database_url()
    if explicit:
        target = Target(_normalise(explicit), "url", allow_any_database, _scheme(explicit))
    else:
        from kit.db.embedded import EmbeddedServer

        server = EmbeddedServer()
        target = Target(server.start() if start else server.url(show_secret=True), "embedded", True)
    register_secret(target.password)
    return target


def explain_connection_error(exc: BaseException, target: Target, timeout: float | None = None) -> TargetError:
    """Turn a connection failure into one paragraph that says what to do."""
    where = f"{target.host}:{target.port}"
    name = type(exc).__name__
    text = mask_text(str(exc), (target.password or "",)) or name
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError, socket.timeout)):
        msg = (f"No answer from {where} within {timeout or '?'} s. The host may be down, firewalled or still "
               "starting; check it is up (`docker compose ps`), or raise --timeout.")
    elif isinstance(exc, socket.gaierror):
        msg = (f"The host '{target.host}' is unknown (DNS lookup failed: {text}). Check the host name in "
               "DATABASE_URL/--url; inside docker-compose networks use the service name, from the host use localhost.")
    elif isinstance(exc, ConnectionRefusedError) or "Connect call failed" in text:
        msg = (f"Nothing accepts connections on {where} (port closed). Start the database "
               "(`docker compose up -d test-db`, or `kit db start` for the embedded one) and check the port.")
    elif (name in ("InvalidPasswordError", "InvalidAuthorizationSpecificationError")
          or "password authentication" in text):
        msg = (f"The server at {where} refused user '{target.user}': authentication failed. Check the user "
               "and password in DATABASE_URL/--url (the docker-compose test-db uses the values in docker-compose.yml).")
    elif name == "InvalidCatalogNameError" or ("database" in text and "does not exist" in text):
        msg = (f"The server at {where} has no database '{target.database}'. Create it (`createdb "
               f"{target.database}`) or fix the database name in DATABASE_URL/--url.")
    elif name == "CannotConnectNowError" or "starting up" in text or "shutting down" in text:
        msg = (f"The server at {where} is not accepting connections yet ({text}). Wait until it is ready "
               "(`docker compose ps` shows healthy) and try again.")
    elif isinstance(exc, OSError):
        msg = f"Could not connect to {where}: {text}. Check that the server runs and the URL is right."
    else:
        msg = f"Could not use the database at {target.masked}: {name}: {text}."
    error = TargetError(msg)
    error.cause_name = name  # type: ignore[attr-defined]
    return error


async def connect(target: Target, timeout: float = 5.0):
    """An asyncpg connection to ``target``, or a :class:`TargetError` paragraph."""
    import asyncpg

    try:
        return await asyncio.wait_for(
            asyncpg.connect(host=target.host, port=target.port, user=target.user, password=target.password,
                            database=target.database, timeout=timeout),
            timeout + 1,
        )
    except Exception as exc:  # noqa: BLE001 - every failure becomes one paragraph
        raise explain_connection_error(exc, target, timeout) from None


# kit_test_<label>_<pid>_<hex>, and the per-xdist-worker databases a suite made from one (<name>_gw0...)
_SCRATCH = re.compile(r"^kit_test_.*_(\d+)_[0-9a-f]{8}(_gw\d+)?$")
_orphans_checked: set[str] = set()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def _drop_orphans(conn) -> list[str]:
    """Drop scratch databases whose kit process is gone (killed mid-run). Busy ones are left alone."""
    dropped = []
    for row in await conn.fetch("select datname from pg_database where datname like 'kit\\_test\\_%'"):
        match = _SCRATCH.match(row["datname"])
        if match and not _alive(int(match.group(1))):
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}"')
                dropped.append(row["datname"])
            except Exception:  # noqa: BLE001 - in use: not an orphan after all
                continue
    return dropped


async def create_database(target: Target, label: str, template: str | None = None) -> Target:
    """Create a fresh, uniquely named database on the target's server and return a target for it.

    The name carries this process id, so a later run can tell the databases of a killed kit from live ones
    and drop them (once per server and process, before the first creation).
    """
    target.require_test_database("create a database")
    safe = re.sub(r"[^a-z0-9_]", "_", label.lower())[:30]
    name = f"kit_test_{safe}_{os.getpid()}_{secrets.token_hex(4)}"
    conn = await connect(target)
    try:
        server = f"{target.host}:{target.port}"
        if server not in _orphans_checked:
            _orphans_checked.add(server)
            await _drop_orphans(conn)
        clause = f' TEMPLATE "{template}"' if template else ""
        await conn.execute(f'CREATE DATABASE "{name}"{clause}')
    finally:
        await conn.close()
    return target.with_database(name)


async def drop_database(target: Target, scratch: Target) -> None:
    """Drop a scratch database, terminating any backend a run left behind (``WITH (FORCE)``)."""
    target.require_test_database("drop a database")
    if not scratch.database.startswith("kit_test_"):
        raise UnsafeTargetError(f"kit only drops the scratch databases it created; refusing '{scratch.database}'.")
    conn = await connect(target)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{scratch.database}" WITH (FORCE)')
    finally:
        await conn.close()


@contextlib.contextmanager
def scratch_database(target: Target, label: str) -> Iterator[Target]:
    """A fresh database for one run, dropped afterwards even when the run failed or hung."""
    from kit.common.aio import run_sync

    scratch = run_sync(create_database(target, label))
    try:
        yield scratch
    finally:
        with contextlib.suppress(Exception):
            run_sync(drop_database(target, scratch))


_server_versions: dict[str, str | None] = {}


def server_version(target: Target) -> str | None:
    """``PostgreSQL 18.1`` for the target's server (cached per server), or None if it cannot be asked."""
    key = f"{target.host}:{target.port}"
    if key not in _server_versions:
        from kit.common.aio import run_sync

        async def ask() -> str | None:
            conn = await connect(target)
            try:
                return (await conn.fetchval("select version()")).split(" on ")[0]
            finally:
                await conn.close()

        try:
            _server_versions[key] = run_sync(ask())
        except Exception:  # noqa: BLE001 - versions are informative only
            _server_versions[key] = None
    return _server_versions[key]


def check_reachable(target: Target, timeout: float = 5.0) -> None:
    """Connect once and hang up, or raise the :class:`TargetError` paragraph that says what is wrong (a wrong
    password, a closed port ...): commands call it before any work, so a bad URL costs one paragraph, not a
    run full of failures that all say the same."""
    from kit.common.aio import run_sync

    async def ping() -> None:
        conn = await connect(target, timeout=timeout)
        await conn.close()

    run_sync(ping())


def reachable(target: Target, timeout: float = 3.0) -> bool:
    """Whether the target's server still accepts a connection (used to tell 'the database went away')."""
    try:
        check_reachable(target, timeout)
    except TargetError:
        return False
    return True
