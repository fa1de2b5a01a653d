"""Security headers on every HTTP answer of the web app: its pages, the public API and Reflex's own routes.

Mounted around the whole backend through `rx.App(api_transformer=[api, SecurityHeaders])`; in production
(`reflex run --env prod`) the same backend serves the built pages, so they get the headers too.

The Content-Security-Policy of a page allows scripts from this origin only, plus the inline scripts that
page itself carries (React Router's prerendered pages hold a few: their SHA-256 hashes are computed from the
page as it is sent). No `'unsafe-inline'` and no `'unsafe-eval'` for scripts: an injected `<script>` or a
string handed to `eval` does not run. Styles keep `'unsafe-inline'` (Radix and Emotion write style elements
at run time; CSS cannot run code). Nothing loads from another origin, except Cloudflare Turnstile's script
and frame when TURNSTILE_SITE_KEY is set; no site may frame a page (`frame-ancestors 'none'`,
`X-Frame-Options: DENY`). Answers that are not pages (JSON, assets) get a policy that allows nothing at all.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
from collections.abc import Iterable
from functools import lru_cache

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadapp.core.settings import get_settings

TURNSTILE_ORIGIN = "https://challenges.cloudflare.com"
NOT_A_PAGE_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script\s*>", re.S | re.I)


@lru_cache(maxsize=4)
def fixed_headers(app_url: str) -> tuple[tuple[str, str], ...]:
    """The headers every answer gets, whatever it is."""
    headers = [
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("X-Frame-Options", "DENY"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    ]
    if app_url.startswith("https://"):
        headers.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    return tuple(headers)


def page_policy(script_hashes: Iterable[str] = ()) -> str:
    """The Content-Security-Policy of a page whose inline scripts have these base64 SHA-256 hashes."""
    settings = get_settings()
    turnstile = [TURNSTILE_ORIGIN] if settings.turnstile_site_key else []
    scripts = ["'self'", *(f"'sha256-{digest}'" for digest in sorted(set(script_hashes))), *turnstile]
    directives = [
        "default-src 'self'",
        "script-src " + " ".join(scripts),
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "media-src 'self' blob:",
        "connect-src 'self'",  # the page's own socket (same origin, ws/wss) and API
        "frame-src " + (" ".join(turnstile) or "'none'"),
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    ]
    if settings.app_url.startswith("https://"):
        directives.append("upgrade-insecure-requests")
    return "; ".join(directives)


def inline_script_hashes(html: bytes) -> list[str]:
    """The base64 SHA-256 of every inline `<script>` of a page, as CSP wants them."""
    return [base64.b64encode(hashlib.sha256(body).digest()).decode() for body in _INLINE_SCRIPT.findall(html)]


def _wants_page(scope: Scope) -> bool:
    accept = dict(scope.get("headers") or []).get(b"accept", b"")
    return scope.get("method") in ("GET", "HEAD") and b"text/html" in accept


def _decoded(body: bytes, headers: MutableHeaders) -> bytes:
    """The page's HTML (a gzip body unpacked); b"" when it cannot be read (its scripts then get no hash)."""
    encoding = headers.get("content-encoding", "identity")
    if encoding == "identity":
        return body
    if encoding == "gzip":
        try:
            return gzip.decompress(body)
        except (OSError, EOFError):
            return b""
    return b""


class SecurityHeaders:
    """ASGI middleware adding the headers above to every HTTP answer (websockets pass through untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _wants_page(scope):
            # A page is read to hash its inline scripts: ask the static files for it uncompressed and as body
            # chunks, not as a file the server sends itself (pages are a few kilobytes; their scripts and styles
            # stay compressed and zero-copy).
            headers = [(k, v) for k, v in scope.get("headers") or [] if k != b"accept-encoding"]
            extensions = {k: v for k, v in (scope.get("extensions") or {}).items() if k != "http.response.pathsend"}
            scope = {**scope, "headers": headers, "extensions": extensions}
        fixed = fixed_headers(get_settings().app_url)
        start: Message | None = None
        chunks: list[bytes] = []

        async def send_with_headers(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = MutableHeaders(raw=list(message.get("headers", [])))
                for name, value in fixed:
                    headers.setdefault(name, value)
                if headers.get("content-type", "").startswith("text/html"):
                    start = {**message, "headers": headers.raw}  # sent with the body, once its scripts are known
                    return
                # The API's answers (JSON, plain-text errors) may run nothing. Redirects, scripts, styles and the
                # pages' own data files get no policy of their own: one there broke a page reloaded while logged in.
                if headers.get("content-type", "").startswith(("application/json", "text/plain")):
                    headers.setdefault("Content-Security-Policy", NOT_A_PAGE_POLICY)
                await send({**message, "headers": headers.raw})
                return
            if start is None:
                await send(message)
                return
            if message["type"] == "http.response.pathsend":  # a page asked for without Accept: text/html
                with open(message["path"], "rb") as page:
                    chunks.append(page.read())
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            headers = MutableHeaders(raw=start["headers"])
            headers["Content-Security-Policy"] = page_policy(inline_script_hashes(_decoded(body, headers)))
            await send({**start, "headers": headers.raw})
            await send({"type": "http.response.body", "body": body, "more_body": False})
            start = None

        await self.app(scope, receive, send_with_headers)
