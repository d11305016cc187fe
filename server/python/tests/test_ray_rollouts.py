"""Ray rollout actors (propamm_gym.ray_rollouts): batches equal the bare client's, servers die with actors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
from conftest import ENV_KW, alive, require_ray, wait_gone

from propamm_gym import PropAmmVectorEnv
from propamm_gym.ray_rollouts import RolloutBatch, RolloutCollector, RolloutWorker  # they import ray only when used

require_ray()


SEED = 31


def weights(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(0, 0.5, (5, 8)), rng.normal(0, 0.1, 8), rng.normal(0, 0.5, (8, 2)), rng.normal(0, 0.1, 2)]


def mlp(w: list[np.ndarray], obs: np.ndarray) -> np.ndarray:
    return np.tanh(np.tanh(obs.astype(np.float64) @ w[0] + w[1]) @ w[2] + w[3]).astype(np.float32)


def bare_rollout(address: str, n: int, seed: int, policies: list[tuple[int, Any]]) -> dict[str, np.ndarray]:
    """The same rollout with the bare client: one PropAmmVectorEnv of n envs, SAME_STEP autoreset."""
    rec: dict[str, list[Any]] = {k: [] for k in ("obs", "act", "rew", "term", "trunc", "next")}
    with PropAmmVectorEnv(n, address, autoreset_mode="same_step", **ENV_KW) as envs:
        obs, _ = envs.reset(seed=seed)
        for steps, policy in policies:
            for _ in range(steps):
                a = policy(obs)
                rec["obs"].append(obs)
                rec["act"].append(a)
                obs, rew, term, trunc, infos = envs.step(a)
                nxt = obs.copy()
                for i in np.flatnonzero(term | trunc):
                    nxt[i] = infos["final_obs"][i]
                rec["rew"].append(rew)
                rec["term"].append(term)
                rec["trunc"].append(trunc)
                rec["next"].append(nxt)
    return {k: np.array(v) for k, v in rec.items()}


def test_collector_batches_equal_the_bare_client(ray_cluster: Any, address: str) -> None:
    """2 actors x 2 envs, seeded SEED: the gathered batches equal one bare 4-env session reset with
    SEED and stepped with the same policies, across two collect calls and several episode ends."""
    w = weights(4)

    def flip(obs: np.ndarray) -> np.ndarray:  # a callable policy, pickled (by value) to the actors
        return -np.tanh(obs[:, :2])

    with RolloutCollector(2, 2, seed=SEED, **ENV_KW) as collector:
        assert collector.num_envs == 4
        first = collector.collect(40, weights=w)
        second = collector.collect(20, policy=flip)
    truth = bare_rollout(address, 4, SEED, [(40, lambda o: mlp(w, o)), (20, flip)])
    got = RolloutBatch(
        *(np.concatenate([getattr(first, k), getattr(second, k)]) for k in RolloutBatch.__dataclass_fields__)
    )
    assert got.observations.shape == (60, 4, 5) and got.actions.shape == (60, 4, 2) and got.rewards.shape == (60, 4)
    assert got.dones.sum(axis=0).min() >= 2, "every env should finish at least two episodes"
    np.testing.assert_array_equal(got.observations, truth["obs"])
    np.testing.assert_array_equal(got.actions, truth["act"])
    np.testing.assert_array_equal(got.rewards, truth["rew"])
    np.testing.assert_array_equal(got.terminated, truth["term"])
    np.testing.assert_array_equal(got.truncated, truth["trunc"])
    np.testing.assert_array_equal(got.next_observations, truth["next"])
    # next_observations[t] is observations[t + 1] except at an episode end
    same = ~got.dones[:-1]
    np.testing.assert_array_equal(got.next_observations[:-1][same], got.observations[1:][same])
    assert not np.array_equal(got.next_observations[:-1][~same], got.observations[1:][~same])


def test_worker_random_policy_is_seeded(address: str) -> None:
    """Without Ray: the default random policy and the resets follow the worker's seed."""
    batches = []
    for seed in (5, 5, 6):
        w = RolloutWorker(2, seed=seed, **ENV_KW)
        try:
            batches.append(w.rollout(30))
            pid = w.server_pid()
        finally:
            w.close()
        assert not alive(pid), "close() stops the worker's server"
    a, b, c = batches
    for k in RolloutBatch.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(a, k), getattr(b, k))
    assert not np.array_equal(a.actions, c.actions) and not np.array_equal(a.rewards, c.rewards)
    assert (np.abs(a.actions) <= 1).all()
    replay = iter(a.actions)
    truth = bare_rollout(address, 2, 5, [(30, lambda _obs: next(replay))])
    np.testing.assert_array_equal(a.observations, truth["obs"])
    np.testing.assert_array_equal(a.rewards, truth["rew"])


def test_servers_die_with_their_actors(ray_cluster: Any) -> None:
    ray = ray_cluster
    collector = RolloutCollector(2, 1, seed=0, **ENV_KW)
    try:
        pids = collector.server_pids
        assert len(set(pids)) == 2 and all(alive(p) for p in pids)
        ray.kill(collector.actors[0])  # SIGKILL-like: no Python clean-up runs in the actor
        assert wait_gone(pids[0]), "the killed actor's server should die with it"
        assert alive(pids[1])
    finally:
        collector.close()
    assert wait_gone(pids[1]), "close() should stop the other actor's server"


def test_server_dies_when_its_owner_is_killed_outright(tmp_path: Path) -> None:
    """Without Ray (whose raylet also cleans up a dead worker's children): a process that owns a
    ServeProcess is SIGKILLed, so no Python clean-up runs; the kernel kills the server
    (PR_SET_PDEATHSIG)."""
    script = (
        "import sys, time\n"
        "from propamm_gym.ray_rollouts import ServeProcess\n"
        "s = ServeProcess()\n"
        "print(s.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]), *sys.path])}
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
    server_pid = None
    try:
        assert owner.stdout is not None
        server_pid = int(owner.stdout.readline())
        assert alive(server_pid)
        owner.send_signal(signal.SIGKILL)
        owner.wait(10)
        assert wait_gone(server_pid), "the server outlived its owner"
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()
        if server_pid is not None and alive(server_pid):  # this test failed: leave no server behind
            os.killpg(server_pid, signal.SIGKILL)
