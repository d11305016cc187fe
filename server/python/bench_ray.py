#!/usr/bin/env python3
"""Benchmarks rollout collection on Ray (propamm_gym.ray_rollouts) against the bare client.

    python server/python/bench_ray.py                      # 16 envs per actor, 64 steps per collect
    python server/python/bench_ray.py --envs 16 --steps 64 --rounds 10

Prints transitions per second (env steps, every env of every actor) of: the bare client (one
PropAmmVectorEnv stepped in this process, random actions, nothing recorded); a RolloutWorker in
this process (the same, recording the batch); 1 Ray actor; 2 Ray actors (total, and per actor).
Each Ray figure times whole ``collect`` calls (fan-out, rollouts, gathering the arrays). Then
Ray's fixed cost per collect: the median round trip of an actor call that returns a batch of the
same size without stepping anything. Every
configuration starts its own server(s) (``node dist/cli/main.js serve``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the package, when it is not installed

from propamm_gym import PropAmmVectorEnv  # noqa: E402
from propamm_gym.ray_rollouts import RolloutBatch, RolloutCollector, RolloutWorker, ServeProcess  # noqa: E402

ENV_KW = {"opponents": ["starter"], "decision_interval": 100}


def bench_bare(envs: int, steps: int, rounds: int) -> float:
    server = ServeProcess()
    try:
        with PropAmmVectorEnv(envs, server.address, autoreset_mode="same_step", list_infos=True, **ENV_KW) as venv:
            venv.reset(seed=0)
            rng = np.random.default_rng(0)
            for _ in range(steps):  # warm-up round
                venv.step(rng.uniform(-1, 1, (envs, 2)).astype(np.float32))
            t0 = time.perf_counter()
            for _ in range(rounds * steps):
                venv.step(rng.uniform(-1, 1, (envs, 2)).astype(np.float32))
            return rounds * steps * envs / (time.perf_counter() - t0)
    finally:
        server.stop()


def bench_worker(envs: int, steps: int, rounds: int) -> float:
    w = RolloutWorker(envs, seed=0, **ENV_KW)
    try:
        w.rollout(steps)
        t0 = time.perf_counter()
        for _ in range(rounds):
            w.rollout(steps)
        return rounds * steps * envs / (time.perf_counter() - t0)
    finally:
        w.close()


def bench_ray(actors: int, envs: int, steps: int, rounds: int) -> float:
    with RolloutCollector(actors, envs, seed=0, **ENV_KW) as c:
        c.collect(steps)
        t0 = time.perf_counter()
        for _ in range(rounds):
            c.collect(steps)
        return rounds * steps * envs * actors / (time.perf_counter() - t0)


def bench_call_overhead(envs: int, steps: int, calls: int = 50) -> float:
    """Median seconds of a Ray actor call that returns a batch of the collect's size (no env work):
    the fixed cost Ray adds to each collect (task dispatch, result serialisation, transfer)."""
    import ray

    @ray.remote(num_cpus=1)
    class Echo:
        def __init__(self) -> None:
            z = np.zeros((steps, envs), np.float64)
            obs = np.zeros((steps, envs, 5), np.float32)
            act = np.zeros((steps, envs, 2), np.float32)
            self.batch = RolloutBatch(obs, act, z, z.astype(bool), z.astype(bool), obs.copy())

        def rollout(self) -> RolloutBatch:
            return self.batch

    echo = Echo.remote()  # type: ignore[attr-defined]
    ray.get(echo.rollout.remote())
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        ray.get(echo.rollout.remote())
        times.append(time.perf_counter() - t0)
    ray.kill(echo)
    return float(np.median(times))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--envs", type=int, default=16, help="envs per session (per actor)")
    p.add_argument("--steps", type=int, default=64, help="steps per collect")
    p.add_argument("--rounds", type=int, default=10, help="timed collects")
    p.add_argument("--num-cpus", type=int, default=2, help="ray.init(num_cpus=...)")
    a = p.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} CPUs")
    bare = bench_bare(a.envs, a.steps, a.rounds)
    print(f"bare client (1 PropAmmVectorEnv, {a.envs} envs):  {bare:8.0f} transitions/s")
    worker = bench_worker(a.envs, a.steps, a.rounds)
    print(f"RolloutWorker in-process ({a.envs} envs):        {worker:8.0f} transitions/s")
    import ray

    t0 = time.perf_counter()
    ray.init(num_cpus=a.num_cpus, include_dashboard=False, log_to_driver=False)
    print(f"ray.init(num_cpus={a.num_cpus}): {time.perf_counter() - t0:.1f} s")
    one = bench_ray(1, a.envs, a.steps, a.rounds)
    print(f"1 Ray actor ({a.envs} envs):                     {one:8.0f} transitions/s")
    two = bench_ray(2, a.envs, a.steps, a.rounds)
    print(f"2 Ray actors ({a.envs} envs each):              {two:8.0f} transitions/s ({two / 2:.0f} per actor)")
    call = bench_call_overhead(a.envs, a.steps)
    ray.shutdown()
    collect_s = a.steps * a.envs / worker
    print(
        f"Ray call returning a {a.steps}x{a.envs} batch, no env work: {call * 1e3:.2f} ms median "
        f"= {100 * call / collect_s:.2f}% of an in-process collect ({collect_s * 1e3:.0f} ms)"
    )
    print(f"throughput, 1 actor vs the in-process worker: {one / worker:.2f}x")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
