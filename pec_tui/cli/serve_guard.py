"""Only the served address gets the served UI: Host and Origin checks before any session.

textual-serve answers any Host and accepts a WebSocket from any Origin: a web page the
operator happens to visit could open sessions on a loopback server (guess passwords, lock
accounts, create the first administrator of an empty database), and DNS rebinding could
make a browser talk to it under a foreign name. `guarded_server` adds an aiohttp middleware
that refuses with 403, before a page is served or an app process started, every request

- whose Host header is not the served address (`--public-url`, by default the bound
  host:port; on a loopback address also `localhost`, `127.0.0.1` and `[::1]`, same port);
- that carries an Origin that is not the served address's origin;
- to the WebSocket without an Origin at all (browsers always send one).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from aiohttp import web
    from aiohttp.typedefs import Middleware
    from textual_serve.server import Server

_DEFAULT_PORTS = {"http": 80, "https": 443}
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _netloc(host: str, port: int) -> str:
    name = f"[{host}]" if ":" in host else host
    return f"{name}:{port}"


@dataclass(frozen=True)
class Allowed:
    """The origins (scheme://host:port) and Host values (host:port) a request may carry."""

    origins: frozenset[str]
    hosts: frozenset[str]

    @classmethod
    def of(cls, public_url: str, bound_host: str) -> Allowed:
        parts = urlsplit(public_url)
        scheme = (parts.scheme or "http").lower()
        name = (parts.hostname or "").lower()
        port = parts.port or _DEFAULT_PORTS.get(scheme, 80)
        names = {name}
        if is_loopback(name) and is_loopback(bound_host):
            names.update(_LOOPBACK_NAMES)
        hosts = {_netloc(n, port) for n in names}
        return cls(frozenset(f"{scheme}://{h}" for h in hosts), frozenset(hosts))

    def host_ok(self, host: str | None, scheme: str = "http") -> bool:
        return host is not None and _normal_host(host, scheme) in self.hosts

    def origin_ok(self, origin: str) -> bool:
        parts = urlsplit(origin.strip())
        scheme = parts.scheme.lower()
        try:
            port = parts.port or _DEFAULT_PORTS.get(scheme, 80)
        except ValueError:
            return False
        if not parts.hostname or parts.path not in ("", "/"):
            return False
        return f"{scheme}://{_netloc(parts.hostname.lower(), port)}" in self.origins


def _normal_host(host: str, scheme: str) -> str:
    parts = urlsplit(f"//{host.strip()}")
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme, 80)
    except ValueError:
        return ""
    return _netloc((parts.hostname or "").lower(), port)


def middleware(allowed: Allowed, public_scheme: str) -> Middleware:
    from aiohttp import web

    @web.middleware
    async def check_origin_and_host(
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        websocket = request.headers.get("Upgrade", "").lower() == "websocket"
        if not allowed.host_ok(request.headers.get("Host"), public_scheme):
            reason = "Host not served here"
        elif origin is not None and not allowed.origin_ok(origin):
            reason = "Origin not allowed"
        elif origin is None and websocket:
            reason = "WebSocket without Origin"
        else:
            return await handler(request)
        return web.Response(status=403, text=f"403 Forbidden: {reason}\n")

    return check_origin_and_host


def guarded_server(
    command: str, host: str, port: int, title: str, public_url: str | None
) -> Server:
    """A textual-serve `Server` that refuses foreign Hosts and Origins (see the module)."""
    from textual_serve.server import Server

    class GuardedServer(Server):
        async def _make_app(self) -> web.Application:
            app = await super()._make_app()
            scheme = urlsplit(self.public_url).scheme.lower() or "http"
            app.middlewares.append(middleware(Allowed.of(self.public_url, host), scheme))
            return app

    return GuardedServer(command, host=host, port=port, title=title, public_url=public_url)
