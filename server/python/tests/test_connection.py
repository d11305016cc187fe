"""The lazy-pirate connection: a dead or missing server raises a clear error within the bound."""

from __future__ import annotations

import threading
import time
from typing import Callable

import numpy as np
import pytest
from conftest import ENV_KW, ServerProcess, free_port

from propamm_gym import Connection, PropAmmEnv, PropAmmVectorEnv, ServerUnavailableError


def test_request_ids_increase_per_connection(address: str) -> None:
    with Connection(address) as a, Connection(address) as b:
        ids = [a.request("ping")["id"], a.request("ping")["id"], b.request("ping")["id"], a.request("ping")["id"]]
    assert ids == [1, 2, 1, 3]


def test_no_server_raises_within_timeout_times_retries() -> None:
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens here
    t0 = time.monotonic()
    with pytest.raises(ServerUnavailableError) as e:
        PropAmmEnv(address, timeout_s=0.2, retries=3)
    elapsed = time.monotonic() - t0
    assert 0.6 <= elapsed < 0.6 + 1.0  # slack for a loaded machine
    err = e.value
    assert isinstance(err, ConnectionError)
    assert address in str(err) and "0.2 s" in str(err) and "3 attempt" in str(err)
    assert (err.address, err.timeout_s, err.attempts, err.cmd) == (address, 0.2, 3, "hello")


@pytest.mark.parametrize("kind", ["env", "vector"])
def test_killed_server_raises_then_close_does_not_hang(spawn_server: Callable[..., ServerProcess], kind: str) -> None:
    srv = spawn_server()
    timeout, retries = 0.3, 3
    if kind == "env":
        env: PropAmmEnv | PropAmmVectorEnv = PropAmmEnv(srv.address, timeout_s=timeout, retries=retries, **ENV_KW)
        action = np.zeros(2, np.float32)
    else:
        env = PropAmmVectorEnv(4, srv.address, timeout_s=timeout, retries=retries, **ENV_KW)
        action = np.zeros((4, 2), np.float32)
    env.reset(seed=1)
    env.step(action)
    srv.kill()
    t0 = time.monotonic()
    with pytest.raises(ConnectionError) as e:
        env.step(action)
    elapsed = time.monotonic() - t0
    assert timeout * retries * 0.9 <= elapsed < timeout * retries + 1.0, elapsed
    assert srv.address in str(e.value) and "'step'" in str(e.value)
    t0 = time.monotonic()
    env.close()
    env.close()
    assert time.monotonic() - t0 < timeout + 1.0


def test_retry_reaches_a_server_that_comes_back(spawn_server: Callable[..., ServerProcess]) -> None:
    """A client started before its server: the request, resent on fresh sockets, is answered
    once the server binds the address."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    conn = Connection(address, timeout_s=1.0, retries=20)
    started: list[ServerProcess] = []

    def start_later() -> None:
        time.sleep(1.5)
        started.append(spawn_server(address=address))

    th = threading.Thread(target=start_later)
    th.start()
    try:
        assert conn.ping() is True
        assert conn.reconnects >= 1
    finally:
        th.join()
        conn.close()
