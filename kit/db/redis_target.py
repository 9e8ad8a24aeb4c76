"""The Redis target: the embedded Redis by default, or the user's ``REDIS_URL``; scratch databases on it.

Users who run a docker ``test-redis`` set ``REDIS_URL``; kit checks it (form, reachability, password) before
using it, so a wrong value costs one paragraph instead of a traceback from deep inside a run. Catalogue
entries take an isolated Redis per use from :func:`scratch_redis`: a database index of its own, claimed
through a key in the URL's database (so concurrent kit processes never share one), emptied before and
after use.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
from collections.abc import Iterator
from urllib.parse import unquote, urlsplit, urlunsplit

from kit.common.masking import mask_text, register_secret
from kit.db.redis_server import SCRATCH_DATABASES, EmbeddedRedis, redis_client
from kit.errors import RedisError

__all__ = ["user_redis_url", "redis_url", "check_redis", "scratch_redis"]

_SCHEMES = ("redis", "rediss")
_FORM = "redis://:password@localhost:6380/0"
_CLAIM = "kit:scratch:{index}"
# Compare-and-set / compare-and-delete in one step, so two processes never both take or drop one claim.
_CLAIM_IF = ("if redis.call('get', KEYS[1]) == ARGV[1] then "
             "return redis.call('set', KEYS[1], ARGV[2], 'EX', ARGV[3]) end")
_RELEASE_IF = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end"


def user_redis_url() -> str | None:
    """The Redis the user chose through ``REDIS_URL``, or None (then kit uses its embedded Redis)."""
    return os.environ.get("REDIS_URL", "").strip() or None


def _checked_form(url: str) -> str:
    """``url`` if it is a Redis URL kit can use, its password registered for masking; else a RedisError."""
    try:
        parts = urlsplit(url)
    except ValueError:  # an unbalanced IPv6 bracket: nothing to read a password from
        parts = None
    if parts is not None and parts.password:  # registered first, so no message below can show it
        register_secret(parts.password)
        register_secret(unquote(parts.password))
    shown = mask_text(url) if parts is not None else "(not shown: kit cannot tell where its password ends)"
    try:
        if parts is None:
            raise ValueError("unbalanced [ ] around the host")
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise RedisError(f"The Redis URL {shown} (REDIS_URL) is malformed ({mask_text(str(exc))}). "
                         f"Use the form {_FORM}, or unset REDIS_URL to use kit's embedded Redis.") from None
    if parts.scheme not in _SCHEMES:
        raise RedisError(
            f"The Redis URL {shown} (REDIS_URL) is not a Redis URL (scheme '{parts.scheme or '?'}'). "
            f"Use the form {_FORM} (rediss:// for TLS), or unset REDIS_URL to use kit's embedded Redis.")
    database = parts.path.lstrip("/")
    if not parts.hostname or (database and not database.isdigit()):
        raise RedisError(
            f"The Redis URL {shown} (REDIS_URL) names no host, or a database that is not a number. "
            f"Use the form {_FORM}, or unset REDIS_URL to use kit's embedded Redis.")
    return url


def check_redis(url: str, timeout: float = 5) -> None:
    """Connect, authenticate and PING; any failure becomes one paragraph that says what to do."""
    import redis

    parts = urlsplit(url)
    where = f"{parts.hostname}:{parts.port or 6379}"
    client = redis_client(url, timeout)
    try:
        client.ping()
    except redis.AuthenticationError as exc:
        refused = "the password" if parts.password else "to serve a client without a password"
        reason = (f"{where} refused {refused} ({mask_text(str(exc))}). Put the server's password in the URL "
                  f"({_FORM}); for the docker-compose test-redis it is the --requirepass value.")
    except redis.ResponseError as exc:
        reason = (f"{where} answered with an error ({mask_text(str(exc))}); if it asks for authentication, "
                  f"put its password in the URL ({_FORM}).")
    except (redis.TimeoutError, TimeoutError) as exc:
        reason = (f"no answer from {where} within {timeout:g} s ({mask_text(str(exc))}). The host may be down, "
                  "firewalled or not a Redis; check it is up (`docker compose ps`).")
    except (redis.ConnectionError, OSError) as exc:
        reason = (f"nothing accepts connections on {where} ({mask_text(str(exc))}). Start it (`docker compose "
                  "up -d test-redis`), or fix the host and port in the URL.")
    else:
        return
    finally:
        client.close()
    raise RedisError(f"The Redis at {mask_text(url)} (REDIS_URL) cannot be used: {reason} Or unset REDIS_URL "
                     "to use kit's embedded Redis.")


def check_user_redis() -> None:
    """The user's ``REDIS_URL``, if set, checked before any work (form, reachability, password): one paragraph
    instead of every Redis test failing."""
    explicit = user_redis_url()
    if explicit:
        check_redis(_checked_form(explicit))


def redis_url(*, ready: bool = True, show_secret: bool = True) -> str:
    """``REDIS_URL`` if set, else the embedded Redis's URL. With ``ready`` the URL is made to answer: the
    user's is checked, the embedded server started (or reused)."""
    explicit = user_redis_url()
    if explicit:
        url = _checked_form(explicit)
        if ready:
            check_redis(url)
    else:
        server = EmbeddedRedis()
        url = server.start() if ready else server.url(show_secret=True)
    return url if show_secret else mask_text(url) or ""


def _with_database(url: str, index: int) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{index}", parts.query, ""))


def _owner_gone(value: bytes | None, host: str) -> bool:
    """A claim left by a process of this machine that no longer exists (it was killed mid-use)."""
    owner_host, _, rest = (value or b"").decode(errors="replace").partition("|")
    pid = rest.partition("|")[0]
    if owner_host != host or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _claim(control, indexes: list[int], lease: int) -> tuple[int, str]:
    host = socket.gethostname()
    token = f"{host}|{os.getpid()}|{secrets.token_hex(8)}"
    for index in indexes:
        if control.set(_CLAIM.format(index=index), token, nx=True, ex=lease):
            return index, token
    for index in indexes:
        key = _CLAIM.format(index=index)
        held = control.get(key)
        if _owner_gone(held, host) and control.eval(_CLAIM_IF, 1, key, held, token, lease):
            return index, token
    raise RedisError(
        f"Every scratch Redis database ({len(indexes)}) is in use by other kit runs, so this run gets none. "
        "Run fewer jobs at once, or wait for the others to finish; claims of runs that were killed expire "
        f"after {lease // 3600} h."
    )


def _scratch_indexes(control, base: str) -> list[int]:
    """Every database index of the server but the URL's own (which keeps the claims)."""
    import redis

    try:
        found = control.config_get("databases").get("databases")
        count = int(found) if found else 16
    except (redis.ResponseError, ValueError):
        count = 16  # CONFIG disabled (a managed Redis): assume the default
    own = int(urlsplit(base).path.lstrip("/") or 0)
    return [i for i in range(min(count, SCRATCH_DATABASES)) if i != own]


@contextlib.contextmanager
def scratch_redis(url: str | None = None, *, lease: int = 6 * 3600) -> Iterator[str]:
    """An isolated Redis for one use (one entry variant): the URL of a database index nobody else holds,
    empty when handed out and flushed afterwards. ``url`` defaults to :func:`redis_url` (REDIS_URL, else
    the embedded Redis); its own database is left alone and keeps the claims."""
    import redis

    base = _checked_form(url) if url else redis_url()
    if url:
        check_redis(base)
    control = redis_client(base)
    try:
        try:
            index, token = _claim(control, _scratch_indexes(control, base), lease)
        except (redis.ConnectionError, redis.TimeoutError, redis.AuthenticationError) as exc:
            raise RedisError(f"kit lost the Redis at {mask_text(base)} while claiming a scratch database "
                             f"({mask_text(str(exc))}). Check that it still runs (`kit redis status`).") from None
        scratch = _with_database(base, index)
        client = redis_client(scratch)
        if url and client.dbsize():
            # a server of the user's: kit flushes only databases it found empty (it never deletes data that was
            # there before), so a database holding keys is left alone, untouched
            client.close()
            control.eval(_RELEASE_IF, 1, _CLAIM.format(index=index), token)
            raise RedisError(f"Redis database {index} at {mask_text(base)} holds keys kit did not put there, so kit "
                             "will not use (or flush) it. Point REDIS_URL at a test Redis whose other databases are "
                             "empty, such as the docker-compose test-redis, or unset REDIS_URL to use kit's "
                             "embedded Redis.")
        try:
            client.flushdb()
            yield scratch
        finally:
            with contextlib.suppress(redis.RedisError, OSError):  # a server gone mid-use has nothing to flush
                client.flushdb()
                control.eval(_RELEASE_IF, 1, _CLAIM.format(index=index), token)
            client.close()
    finally:
        control.close()
