"""Who may use the console: anyone on loopback; with a token (setting `token`), only who shows it.

A console bound beyond loopback must have a token (the service refuses to start without one). The token
comes as `Authorization: Bearer <token>`, or once through the login form, which sets a cookie holding a
digest of the token (HttpOnly, SameSite=Strict), never the token itself.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

COOKIE = "segur_console"
#: paths served without the token: the login form, the style sheet and script, the health probe
OPEN_PATHS = ("/login", "/static/", "/_admin/health")


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def cookie_value(token: str) -> str:
    return hmac.new(token.encode(), b"segur-console-session", hashlib.sha256).hexdigest()


def allowed(token: str, path: str, headers, cookies) -> bool:
    """True when no token is set, the path is open, or the request shows the token."""
    if not token or path == "/login" or any(path.startswith(p) for p in OPEN_PATHS[1:]):
        return True
    given = headers.get("Authorization", "")
    if given.startswith("Bearer ") and hmac.compare_digest(given[7:].strip().encode(), token.encode()):
        return True
    return hmac.compare_digest(cookies.get(COOKIE, "").encode(), cookie_value(token).encode())


def token_matches(token: str, typed: str) -> bool:
    return bool(token) and hmac.compare_digest((typed or "").encode(), token.encode())
