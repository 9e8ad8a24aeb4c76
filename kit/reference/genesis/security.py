"""Password hashing (PBKDF2-HMAC-SHA256) and bearer tokens (HMAC-SHA256 signed), standard library only.

A token is ``base64url(json payload) + "." + base64url(signature)``, the payload ``{"sub": user_id, "exp": unix}``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time

from kit.reference.genesis.settings import get_settings

__all__ = ["hash_password", "verify_password", "create_token", "decode_token", "InvalidToken"]

_ALGORITHM = "pbkdf2_sha256"


class InvalidToken(ValueError):
    """The token is malformed, badly signed or expired."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, iterations: int | None = None) -> str:
    iterations = iterations or get_settings().password_iterations
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"{_ALGORITHM}${iterations}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, hashed: str) -> bool:
    try:
        algorithm, iterations, salt, digest = hashed.split("$")
        if algorithm != _ALGORITHM:
            return False
        candidate = hashlib.pbkdf2_hmac("sha256", password.encode(), _unb64(salt), int(iterations))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(candidate, _unb64(digest))


def _sign(body: str) -> str:
    key = get_settings().secret_key.encode()
    return _b64(hmac.new(key, body.encode("ascii"), hashlib.sha256).digest())


def create_token(user_id: int, *, ttl_s: int | None = None, now: float | None = None) -> str:
    ttl_s = get_settings().token_ttl_s if ttl_s is None else ttl_s
    issued = time.time() if now is None else now
    body = _b64(json.dumps({"sub": user_id, "exp": int(issued + ttl_s)}, separators=(",", ":")).encode())
    return f"{body}.{_sign(body)}"


def decode_token(token: str, *, now: float | None = None) -> int:
    """The user id the token was issued for; ``InvalidToken`` otherwise."""
    try:
        body, signature = token.split(".")
    except ValueError:
        raise InvalidToken("malformed token") from None
    if not hmac.compare_digest(signature, _sign(body)):
        raise InvalidToken("bad signature")
    try:
        payload = json.loads(_unb64(body))
        user_id, expires = int(payload["sub"]), int(payload["exp"])
    except (ValueError, KeyError, TypeError):
        raise InvalidToken("malformed payload") from None
    if expires < (time.time() if now is None else now):
        raise InvalidToken("expired")
    return user_id
