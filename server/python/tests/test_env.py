"""PropAmmEnv against the real server: Gymnasium's checker, determinism, parity with TypeScript."""

from __future__ import annotations

import json
import warnings
from typing import Any

import gymnasium
import numpy as np
import pytest
from conftest import ENV_KW, SIM, actions_for, ts_trajectories
from gymnasium.utils.env_checker import check_env

from propamm_gym import PropAmmEnv, ProtocolError, ServerError


def run_episode(env: PropAmmEnv, seed: int | None, actions: np.ndarray) -> dict[str, Any]:
    obs, info = env.reset(seed=seed)
    traj: dict[str, Any] = {"obs": [obs], "rewards": [], "infos": [info], "terminated": [], "truncated": []}
    for a in actions:
        obs, r, term, trunc, info = env.step(a)
        traj["obs"].append(obs)
        traj["rewards"].append(r)
        traj["infos"].append(info)
        traj["terminated"].append(term)
        traj["truncated"].append(trunc)
        if term or trunc:
            return traj
    raise AssertionError(f"episode did not end within {len(actions)} steps")


def test_check_env_without_warnings(address: str) -> None:
    env = PropAmmEnv(address, **ENV_KW)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            check_env(env)
    finally:
        env.close()


def test_types_and_spaces(address: str) -> None:
    with PropAmmEnv(address, **ENV_KW) as env:
        assert env.metadata == {"render_modes": []}
        assert env.observation_space == gymnasium.spaces.Box(
            np.zeros(5, np.float32), np.array([10, 1, 1, 1, 1], np.float32), dtype=np.float32
        )
        assert env.action_space == gymnasium.spaces.Box(-1, 1, shape=(2,), dtype=np.float32)
        assert env.observation_space is env.observation_space  # cached, not rebuilt per access
        obs, info = env.reset(seed=3)
        assert obs.dtype == np.float32 and obs.shape == (5,) and obs.flags.writeable
        assert env.observation_space.contains(obs)
        assert info["decision"] == "reset" and info["sim_seed"] == 3
        obs, r, term, trunc, info = env.step(np.array([0.1, -0.2], np.float32))
        assert type(r) is float and type(term) is bool and type(trunc) is bool
        assert obs.dtype == np.float32 and env.observation_space.contains(obs)
        assert set(info["features"]) == {"sigma_hat", "flow_ema", "capital_weight", "epoch_step", "n_pools"}


def test_reset_seeds_np_random_and_forwards_seed(address: str) -> None:
    with PropAmmEnv(address, **ENV_KW) as env:
        env.reset(seed=11)
        a = env.np_random.random()
        _, info = env.reset(seed=11)
        assert env.np_random.random() == a
        assert info["sim_seed"] == 11
        _, info = env.reset()  # no seed: the next seed of the env's own stream
        assert info["sim_seed"] != 11


def test_same_seed_same_actions_same_trajectory(address: str) -> None:
    actions = actions_for(1, 400)
    with PropAmmEnv(address, **ENV_KW) as env:
        t1 = run_episode(env, 7, actions)
        t2 = run_episode(env, 7, actions)
    with PropAmmEnv(address, **ENV_KW) as other:  # another session on the same server
        t3 = run_episode(other, 7, actions)
    for t in (t2, t3):
        np.testing.assert_array_equal(np.array(t1["obs"]), np.array(t["obs"]))
        assert t1["rewards"] == t["rewards"]
        assert json.dumps(t1["infos"]) == json.dumps(t["infos"])  # NaN-safe (the normalizer's final_weight)
        assert t1["terminated"] == t["terminated"]
    assert len(t1["rewards"]) > 10  # a real episode, several decisions
    assert "propamm_episode" in t1["infos"][-1] and "episode" not in t1["infos"][-1]


@pytest.mark.parametrize(
    "kw",
    [
        ENV_KW,
        {
            "opponents": ["starter", "fixed:30"],
            "decision_interval": 50,
            "reward_mode": "sparse",
            "reward_scale": 0.5,
            "fee_min_bps": 5,
            "fee_max_bps": 120,
            "sim": {**SIM, "risk_lambda": 1.5},
        },
        {"observation": "extended", "opponents": ["starter", "fixed:40"], "sim": SIM},
        {"observation": "seed-vol", "risk_penalty": "none", "reward_baseline": "normalizer", "sim": SIM},
    ],
    ids=["default", "custom", "extended", "seed-vol-no-risk-penalty"],
)
def test_matches_in_process_typescript_env(address: str, kw: dict[str, Any]) -> None:
    seeds = [0, 42]
    actions = actions_for(5, 600)
    jobs = [{"config": kw, "seed": s, "actions": actions} for s in seeds]
    expected = ts_trajectories(jobs)
    with PropAmmEnv(address, **kw) as env:
        for seed, exp in zip(seeds, expected):
            got = run_episode(env, seed, actions)
            obs = np.array(got["obs"], dtype=np.float32)
            assert obs.shape[-1] == {"extended": 17, "seed-vol": 6}.get(kw.get("observation", "seed"), 5)
            np.testing.assert_array_equal(obs, np.array(exp["obs"], dtype=np.float32))
            assert got["rewards"] == exp["rewards"]  # exact: float64 end to end
            assert [i["decision"] for i in got["infos"]] == exp["decisions"]


def test_reset_options_pin_the_market(address: str) -> None:
    actions = actions_for(2, 400)
    with PropAmmEnv(address, **ENV_KW) as env:
        env.reset(seed=4, options={"market": {"sigma": 0.0005}})
        calm = run_episode(env, 4, actions)  # pins persist across resets
        env.reset(seed=4, options={"market": {"sigma": 0.006}})
        wild = run_episode(env, 4, actions)
    assert calm["rewards"] != wild["rewards"]


def test_server_errors_carry_code_and_message(address: str) -> None:
    with pytest.raises(ServerError) as e:
        PropAmmEnv(address, decision_interval=-1)
    assert e.value.code == "CONFIG" and "decision" in e.value.message.lower()
    with pytest.raises(ServerError) as e:
        PropAmmEnv(address, opponents=["no-such-strategy"])
    assert e.value.code == "CONFIG"
    with PropAmmEnv(address, **ENV_KW) as env:
        with pytest.raises(ServerError) as e:
            env.step(np.zeros(2, np.float32))
        assert e.value.code == "ENV"  # step before reset
        env.reset(seed=1)
        with pytest.raises(ServerError) as e:
            env.step(np.array([np.nan, 0.0], np.float32))
        assert e.value.code == "BAD_ACTION"
        with pytest.raises(ValueError):
            env.step(np.zeros(3, np.float32))  # caught before it is sent
        obs, *_ = env.step(np.zeros(2, np.float32))  # the session is unchanged and usable
        assert obs.shape == (5,)


def test_close_twice(address: str) -> None:
    env = PropAmmEnv(address, **ENV_KW)
    env.reset(seed=0)
    env.close()
    env.close()
    with pytest.raises(ProtocolError, match="closed"):
        env.step(np.zeros(2, np.float32))


def test_gymnasium_make(address: str) -> None:
    env = gymnasium.make("propamm_gym/PropAmm-v0", address=address, **ENV_KW)
    try:
        obs, _ = env.reset(seed=0)
        assert obs.shape == (5,)
        env.step(env.action_space.sample())
    finally:
        env.close()
