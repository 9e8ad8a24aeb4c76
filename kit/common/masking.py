"""Masking secrets out of everything kit prints, records or renders.

Two layers: URLs are rendered with their password replaced by ``***``, and any text can be scrubbed of
every secret kit knows about in this process (registered when a target is resolved) plus any
``scheme://user:password@`` credential it contains.
"""

from __future__ import annotations

import re

__all__ = ["MASK", "mask_url", "mask_text", "register_secret"]

MASK = "***"
_known_secrets: set[str] = set()
# A scheme is matched only from the start of its run of scheme characters: linear time on long runs such as
# a report's base64 images (20x faster on a 0.5 MB report), same matches as "any letter may start a scheme".
_CREDENTIAL = re.compile(r"(?<![a-zA-Z0-9+.\-])(?P<scheme>[0-9+.\-]*[a-zA-Z][a-zA-Z0-9+.\-]*://)"
                         r"(?P<user>[^:/@\s]*):(?P<password>[^\s]+?)@(?=[^@\s/]*(?:[/?#\s'\"]|$))")
# (the password runs to the last "@" before the host: an unencoded "@" inside it must not leave a tail showing)
_PASSWORD_KV = re.compile(r"(?i)\b(password|passwd|pwd)(\s*[=:]\s*)(['\"]?)([^'\"\s,;)}]+)")


def register_secret(secret: str | None) -> None:
    """Remember a secret so that :func:`mask_text` removes it from any text, wherever it appears."""
    if secret and len(secret) >= 4:
        _known_secrets.add(secret)


def mask_url(url: str) -> str:
    """Return ``url`` with its password (if any) replaced by ``***``."""
    return _CREDENTIAL.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", url)


def mask_text(text: str | None, extra_secrets: tuple[str, ...] = ()) -> str | None:
    """Scrub credentials in URLs, ``password=...`` pairs and every known secret from ``text``."""
    if not text:
        return text
    masked = mask_url(text)
    masked = _PASSWORD_KV.sub(lambda m: f"{m[1]}{m[2]}{m[3]}{MASK}", masked)
    for secret in sorted(_known_secrets.union(extra_secrets), key=len, reverse=True):
        if secret:
            masked = masked.replace(secret, MASK)
    return masked
