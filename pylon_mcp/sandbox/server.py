"""Serve a Sandbox over real loopback HTTP: in a background thread, or in the foreground for the CLI."""

from __future__ import annotations

import logging
import socket
import threading
import time
from types import TracebackType
from typing import Self

from starlette.types import ASGIApp

from pylon_mcp.sandbox.app import Sandbox

log = logging.getLogger("pylon_mcp.sandbox")


def _uvicorn_config(app: ASGIApp, host: str, port: int, log_level: str, lifespan: str):  # type: ignore[no-untyped-def]
    import uvicorn  # deferred: stdio servers that never start a sandbox don't pay for it

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        lifespan=lifespan,
        timeout_graceful_shutdown=1,
        # The "reset" fault aborts a response on purpose; don't print its traceback.
        log_config=None,
    )


class BackgroundServer:
    """Serve an ASGI app on loopback from a daemon thread, at an ephemeral port by default."""

    def __init__(
        self, app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0, lifespan: str = "off"
    ) -> None:
        self.app = app
        self.host = host
        self._port = port
        self._lifespan = lifespan
        self._server = None  # type: ignore[var-annotated]
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def port(self) -> int:
        assert self._socket is not None, "not started"
        return self._socket.getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        import uvicorn

        # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP;
        # with proto 0, Nagle + delayed ACK add ~40 ms to every keep-alive response.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((self.host, self._port))
        config = _uvicorn_config(self.app, self.host, self.port, "critical", self._lifespan)
        server = uvicorn.Server(config)
        self._server = server
        sock = self._socket
        self._thread = threading.Thread(
            target=lambda: server.run(sockets=[sock]), name="uvicorn", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"server for {self.app!r} failed to start (already started once?)")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._socket is not None:
            self._socket.close()
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class SandboxServer(BackgroundServer):
    """`with SandboxServer(Sandbox()) as server: server.url` serves a sandbox on 127.0.0.1."""

    def __init__(self, sandbox: Sandbox | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sandbox = sandbox or Sandbox()
        super().__init__(self.sandbox.app, host=host, port=port)

    def start(self) -> Self:
        super().start()
        log.info("sandbox serving %d issues at %s", len(self.sandbox.store), self.url)
        return self


def serve_forever(sandbox: Sandbox, host: str, port: int) -> None:
    """Foreground server for `pylon-mcp sandbox`."""
    import uvicorn

    uvicorn.Server(_uvicorn_config(sandbox.app, host, port, "warning", "off")).run()
