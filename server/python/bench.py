#!/usr/bin/env python3
"""Benchmarks the Python client against `propamm serve`, beside a bare pyzmq REQ/REP echo.

    python server/python/bench.py                      # starts its own server (node dist/cli/main.js)
    python server/python/bench.py --address tcp://127.0.0.1:5555 --seconds 5

Prints the round-trip latency (p50/p99) of one step of 1 env, of a ping (protocol only), of an
echo of the same request bytes to a trivial pyzmq REP server in another process, and the
transitions per second with 1, 16 and 64 envs per message (infos as lists, and as Gymnasium's
dict of arrays). A step runs `decision_interval` (100) simulation steps on the server, so it is
not free: `node dist/bench/gym.js` gives the in-process figure to compare with.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import zmq

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))  # the package, when it is not installed

from propamm_gym import Connection, PropAmmEnv, PropAmmVectorEnv, ServerUnavailableError, encode_array  # noqa: E402
from propamm_gym.protocol import pack  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def echo_server(address: str, ready: Any) -> None:
    ctx = zmq.Context()
    rep = ctx.socket(zmq.REP)
    rep.setsockopt(zmq.LINGER, 0)
    rep.bind(address)
    ready.set()
    while True:
        msg = rep.recv()
        if msg == b"quit":
            rep.send(b"")
            break
        rep.send(msg)
    rep.close()
    ctx.term()


def percentiles(samples: list[float]) -> tuple[float, float]:
    a = np.array(samples) * 1e6
    return float(np.percentile(a, 50)), float(np.percentile(a, 99))


def time_calls(fn: Callable[[], Any], seconds: float, warmup: int = 200) -> list[float]:
    for _ in range(warmup):
        fn()
    out: list[float] = []
    end = time.perf_counter() + seconds
    while True:
        t0 = time.perf_counter()
        fn()
        t1 = time.perf_counter()
        out.append(t1 - t0)
        if t1 > end:
            return out


def bench_echo(payload: bytes, seconds: float) -> tuple[float, float]:
    address = f"tcp://127.0.0.1:{free_port()}"
    ready = mp.Event()
    proc = mp.Process(target=echo_server, args=(address, ready), daemon=True)
    proc.start()
    ready.wait(10)
    ctx = zmq.Context.instance()
    req = ctx.socket(zmq.REQ)
    req.setsockopt(zmq.LINGER, 0)
    req.connect(address)

    def once() -> None:
        req.send(payload)
        req.recv()

    try:
        return percentiles(time_calls(once, seconds))
    finally:
        req.send(b"quit")
        req.recv()
        req.close()
        proc.join(5)


def bench_throughput(address: str, n: int, seconds: float, config: dict[str, Any], list_infos: bool) -> float:
    with PropAmmVectorEnv(n, address, list_infos=list_infos, **config) as envs:
        envs.reset(seed=0)
        rng = np.random.default_rng(0)
        actions = rng.uniform(-1, 1, size=(64, n, 2)).astype(np.float32)
        for k in range(20):
            envs.step(actions[k % 64])
        steps = 0
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            envs.step(actions[steps % 64])
            steps += 1
        return steps * n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--address", help="an already running server (default: start one)")
    ap.add_argument("--seconds", type=float, default=3.0, help="duration of each measurement")
    args = ap.parse_args()

    server: subprocess.Popen[bytes] | None = None
    address = args.address
    if address is None:
        address = f"tcp://127.0.0.1:{free_port()}"
        server = subprocess.Popen(
            ["node", str(REPO_ROOT / "dist" / "cli" / "main.js"), "serve", "--bind", address], cwd=REPO_ROOT
        )
        for _ in range(100):
            try:
                with Connection(address, timeout_s=0.3, retries=1) as c:
                    c.ping()
                break
            except ServerUnavailableError:
                pass
        else:
            raise SystemExit(f"the server did not start at {address}")
    try:
        with Connection(address) as c:
            hello = c.hello()
        config: dict[str, Any] = {"opponents": ["starter"]}  # the server's default episode: 10000 steps
        print(
            f"server: {hello['server']} at {address}; python {sys.version.split()[0]}, pyzmq {zmq.__version__}, "
            f"libzmq {zmq.zmq_version()}; {os.cpu_count()} CPUs; {args.seconds:g} s per measurement"
        )
        print(f"env config: {config} + defaults (decision_interval 100, sim steps 10000)\n")

        env = PropAmmEnv(address, **config)
        env.reset(seed=0)
        a = np.array([0.1, -0.1], np.float32)
        session = env._session
        fields = {"env_id": session.env_id, "actions": encode_array(a.reshape(1, 2))}
        payload = pack({"v": 1, "id": 123456, "cmd": "step", **fields})

        def step_env() -> None:
            _, _, term, trunc, _ = env.step(a)
            if term or trunc:
                env.reset()

        def step_raw() -> None:
            r = session.conn.request("step", fields)
            if r["terminated"]["data"] != b"\0":
                session.conn.request("reset", {"env_id": session.env_id})

        e50, e99 = bench_echo(payload, args.seconds)
        p50, p99 = percentiles(time_calls(lambda: session.conn.request("ping"), args.seconds))
        r50, r99 = percentiles(time_calls(step_raw, args.seconds))
        s50, s99 = percentiles(time_calls(step_env, args.seconds))
        env.close()
        print(f"{'round trip, 1 env':44s} {'p50 us':>9s} {'p99 us':>9s}")
        print(f"{'bare pyzmq REQ/REP echo (same ' + str(len(payload)) + ' B request)':44s} {e50:9.1f} {e99:9.1f}")
        print(f"{'ping via Connection.request (no env work)':44s} {p50:9.1f} {p99:9.1f}")
        print(f"{'step via Connection.request':44s} {r50:9.1f} {r99:9.1f}")
        print(f"{'step via PropAmmEnv.step':44s} {s50:9.1f} {s99:9.1f}")
        print()
        print(f"{'envs per message':16s} {'transitions/s':>14s} {'(dict infos)':>14s}")
        for n in (1, 16, 64):
            tl = bench_throughput(address, n, args.seconds, config, list_infos=True)
            td = bench_throughput(address, n, args.seconds, config, list_infos=False)
            print(f"{n:<16d} {tl:14.0f} {td:14.0f}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
