"""16 clients at once, each with its own connection and session, stepping whole episodes."""

from __future__ import annotations

import json
import threading
from typing import Any

import numpy as np
from conftest import ENV_KW, actions_for

from propamm_gym import PropAmmEnv

N_CLIENTS = 16


def episode(address: str, seed: int) -> dict[str, Any]:
    actions = actions_for(1000 + seed, 400)
    with PropAmmEnv(address, **ENV_KW) as env:
        obs, _ = env.reset(seed=seed)
        out: dict[str, Any] = {"obs": [obs.tolist()], "rewards": [], "last_info": None}
        for a in actions:
            obs, r, term, trunc, info = env.step(a)
            out["obs"].append(obs.tolist())
            out["rewards"].append(r)
            if term or trunc:
                out["last_info"] = json.dumps(info)
                return out
    raise AssertionError("episode did not end")


def test_sixteen_concurrent_clients(address: str) -> None:
    results: dict[int, dict[str, Any]] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(N_CLIENTS)

    def worker(seed: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[seed] = episode(address, seed)
        except BaseException as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(N_CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert sorted(results) == list(range(N_CLIENTS))
    for seed in range(N_CLIENTS):  # the same episodes, one at a time
        alone = episode(address, seed)
        got = results[seed]
        np.testing.assert_array_equal(np.array(got["obs"], np.float32), np.array(alone["obs"], np.float32))
        assert got["rewards"] == alone["rewards"] and got["last_info"] == alone["last_info"]
    assert len({json.dumps(r["rewards"]) for r in results.values()}) == N_CLIENTS  # different seeds differ
