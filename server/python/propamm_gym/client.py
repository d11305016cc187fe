"""One connection to a prop-amm gym server: a ZeroMQ REQ socket with the lazy-pirate pattern.

Each request waits ``timeout_s`` for its reply. On a timeout the socket is closed (linger 0, so
nothing queued survives), a fresh one connects, and the *same* request (same id) is sent again;
the server answers a repeated ``reset``/``step`` id from its cache, so a lost reply never
advances the simulation twice. After ``retries`` attempts in all, :class:`ServerUnavailableError`
(a ``ConnectionError``) names the address and the timeout: a dead server never hangs training.

A connection is not thread-safe: give each thread its own.
"""

from __future__ import annotations

import time
from typing import Any

import zmq

from .protocol import (
    PROTOCOL_VERSION,
    ProtocolError,
    ServerError,
    ServerUnavailableError,
    pack,
    unpack,
)

DEFAULT_ADDRESS = "tcp://127.0.0.1:5555"


class Connection:
    """Request/reply client of the protocol (docs/protocol.md).

    Args:
        address: ZeroMQ endpoint of ``propamm serve`` (``tcp://host:port`` or ``ipc://path``).
        timeout_s: seconds to wait for each reply before retrying.
        retries: attempts in all (the first send included) before giving up.
        context: ZeroMQ context (default: the process-wide one).
    """

    def __init__(
        self,
        address: str = DEFAULT_ADDRESS,
        *,
        timeout_s: float = 10.0,
        retries: int = 3,
        context: zmq.Context[Any] | None = None,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0 (got {timeout_s})")
        if retries < 1:
            raise ValueError(f"retries must be >= 1 (got {retries})")
        self.address = address
        self.timeout_s = float(timeout_s)
        self.retries = int(retries)
        self._context = context if context is not None else zmq.Context.instance()
        self._socket: zmq.Socket[bytes] | None = None
        self._next_id = 1
        self._closed = False
        self.reconnects = 0

    # -- socket management --------------------------------------------------------------------

    def _connect(self) -> zmq.Socket[bytes]:
        sock: zmq.Socket[bytes] = self._context.socket(zmq.REQ)
        sock.setsockopt(zmq.LINGER, 0)  # closing never blocks on unsent messages
        sock.connect(self.address)
        self._socket = sock
        return sock

    def _drop_socket(self) -> None:
        if self._socket is not None:
            self._socket.close(linger=0)
            self._socket = None

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Closes the socket (linger 0: never blocks). Calling it again is a no-op."""
        self._drop_socket()
        self._closed = True

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self._drop_socket()
        except Exception:
            pass

    # -- requests -----------------------------------------------------------------------------

    def request(
        self,
        cmd: str,
        fields: dict[str, Any] | None = None,
        *,
        timeout_s: float | None = None,
        retries: int | None = None,
    ) -> dict[str, Any]:
        """Sends ``{v, id, cmd, **fields}`` and returns the reply map (``ok: true``).

        Raises :class:`ServerError` for an ``ok: false`` reply, :class:`ServerUnavailableError`
        when no reply comes, :class:`ProtocolError` for a malformed reply.
        """
        if self._closed:
            raise ProtocolError(f"connection to {self.address} is closed")
        timeout = self.timeout_s if timeout_s is None else float(timeout_s)
        attempts = self.retries if retries is None else int(retries)
        request_id = self._next_id
        self._next_id += 1
        msg: dict[str, Any] = {"v": PROTOCOL_VERSION, "id": request_id, "cmd": cmd}
        if fields:
            msg.update(fields)
        payload = pack(msg)

        for attempt in range(attempts):
            sock = self._socket if self._socket is not None else self._connect()
            if attempt > 0:
                self.reconnects += 1
            deadline = time.monotonic() + timeout
            try:
                frame = self._exchange(sock, payload, deadline)
            except BaseException:
                # Interrupted (Ctrl-C) between send and receive: this REQ socket now expects a
                # reply, so drop it; the next request starts on a fresh one.
                self._drop_socket()
                raise
            if frame is not None:
                return self._check_reply(unpack(frame.buffer), request_id, cmd)
            # Lazy pirate: a REQ socket that lost its reply is stuck; drop it and start afresh.
            self._drop_socket()
        raise ServerUnavailableError(self.address, cmd, request_id, timeout, attempts)

    @staticmethod
    def _exchange(sock: zmq.Socket[bytes], payload: bytes, deadline: float) -> zmq.Frame | None:
        """Sends and waits for the reply until the deadline; None on a timeout. Never blocks longer."""

        def remaining_ms() -> int:
            return int(max(0.0, deadline - time.monotonic()) * 1000)

        if not sock.poll(remaining_ms(), zmq.POLLOUT):
            return None
        sock.send(payload, zmq.NOBLOCK)
        while True:
            if sock.poll(remaining_ms(), zmq.POLLIN):
                return sock.recv(copy=False)
            if time.monotonic() >= deadline:
                return None

    @staticmethod
    def _check_reply(reply: Any, request_id: int, cmd: str) -> dict[str, Any]:
        if not isinstance(reply, dict):
            raise ProtocolError(f"reply to '{cmd}' is not a map: {type(reply).__name__}")
        if reply.get("ok") is not True:
            err = reply.get("error")
            if isinstance(err, dict):
                raise ServerError(str(err.get("code", "?")), str(err.get("message", "")), cmd)
            raise ProtocolError(f"reply to '{cmd}' has neither ok: true nor an error: {reply!r}")
        if reply.get("id") != request_id:
            raise ProtocolError(f"reply to '{cmd}' carries id {reply.get('id')!r}, expected {request_id}")
        return reply

    # -- commands -----------------------------------------------------------------------------

    def hello(self) -> dict[str, Any]:
        reply = self.request("hello")
        if reply.get("protocol") != PROTOCOL_VERSION:
            raise ProtocolError(f"server speaks protocol {reply.get('protocol')!r}, this client {PROTOCOL_VERSION}")
        return reply

    def ping(self) -> bool:
        return bool(self.request("ping").get("pong"))
