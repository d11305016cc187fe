"""The PettingZoo envs (AECEnv, ParallelEnv) against a real server: pettingzoo's own API and seed
tests, the one-agent AEC env against the single-agent PropAmmEnv, and the errors."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest
from conftest import SIM, actions_for
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test, seed_test

from propamm_gym import AECEnv, ParallelEnv, PropAmmEnv, ServerError

#: Short episodes: 1000 steps, epochs of 250.
SHORT = {"steps": 1000, "epoch_len": 250}
LINEUP: list[Any] = [{"agent": "a"}, "starter", {"agent": "b"}, {"agent": "c"}]


def _quiet(fn: Any, *args: Any, **kwargs: Any) -> None:
    """Runs a pettingzoo test; its advisory warnings (no render(), unknown reset options) are not failures."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fn(*args, **kwargs)


def test_aec_env_passes_pettingzoo_api_test(address: str) -> None:
    env = AECEnv(address, lineup=LINEUP, decision_interval=100, sim=SHORT)
    try:
        _quiet(api_test, env, num_cycles=2000)
    finally:
        env.close()


def test_parallel_env_passes_pettingzoo_parallel_api_test(address: str) -> None:
    env = ParallelEnv(address, lineup=LINEUP, decision_interval=100, sim=SHORT)
    try:
        _quiet(parallel_api_test, env, num_cycles=2000)
    finally:
        env.close()


def _nan_to_none(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _nan_to_none(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_nan_to_none(v) for v in x]
    return None if isinstance(x, float) and math.isnan(x) else x


class _SeedAEC(AECEnv):
    """pettingzoo's seed tests compare infos with ==, for which the normalizer's final weight in
    an ended episode's summary (NaN, docs/protocol.md) never equals itself: here NaN reads None."""

    def _apply(self, reply: Any) -> None:
        super()._apply(reply)
        self.infos = _nan_to_none(self.infos)


class _SeedParallel(ParallelEnv):
    def _infos(self, reply: Any) -> dict[str, dict[str, Any]]:
        return _nan_to_none(super()._infos(reply))  # type: ignore[no-any-return]


def test_pettingzoo_seed_tests(address: str) -> None:
    _quiet(seed_test, lambda: _SeedAEC(address, agents=2, opponents=["starter"], sim=SHORT), num_cycles=200)
    _quiet(
        parallel_seed_test, lambda: _SeedParallel(address, agents=2, opponents=["starter"], sim=SHORT), num_cycles=200
    )


def _strip(info: dict[str, Any]) -> dict[str, Any]:
    """An AEC info as the single-agent env's: without the pool index, the agent's pool named "Agent"
    (NaN, the normalizer's final weight, as None so that == can compare)."""
    out = {k: v for k, v in info.items() if k != "pool"}
    if "propamm_episode" in out:
        ep = dict(out["propamm_episode"])
        ep["pools"] = [dict(p, name="Agent") if i == info["pool"] else p for i, p in enumerate(ep["pools"])]
        out["propamm_episode"] = ep
    return _nan_to_none(out)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "kw",
    [
        {"decision_interval": 100},
        {"decision_interval": 0, "reward_mode": "sparse", "reward_baseline": "normalizer"},
    ],
)
def test_one_agent_aec_env_gives_the_single_agent_envs_numbers(address: str, kw: dict[str, Any]) -> None:
    single = PropAmmEnv(address, opponents=["starter", "fixed:40"], sim=SIM, **kw)
    aec = AECEnv(address, lineup=[{"agent": "solo"}, "starter", "fixed:40"], sim=SIM, **kw)
    par = ParallelEnv(address, lineup=[{"agent": "solo"}, "starter", "fixed:40"], sim=SIM, **kw)
    try:
        for seed in (3, None):
            obs, info = single.reset(seed=seed)
            aec.reset(seed=seed)
            pobs, pinfos = par.reset(seed=seed)
            o, r, term, trunc, i = aec.last()
            assert np.array_equal(o, obs) and np.array_equal(pobs["solo"], obs)
            assert _strip(i) == _nan_to_none(info)
            assert r == 0.0 and not term and not trunc
            assert pinfos["solo"].pop("acting") is True
            assert _strip(pinfos["solo"]) == _nan_to_none(info)
            actions = actions_for(seed or 0, 5000)
            for k in range(len(actions)):
                obs, reward, terminated, truncated, info = single.step(actions[k])
                aec.step(actions[k])
                o, r, term, trunc, i = aec.last()
                assert np.array_equal(o, obs), k
                assert r == reward, (k, r, reward)  # bit for bit
                assert (term, trunc) == (terminated, truncated)
                assert _strip(i) == _nan_to_none(info)
                pobs, prew, pterm, _, pinfos = par.step({"solo": actions[k]})
                assert np.array_equal(pobs["solo"], obs) and prew["solo"] == reward and pterm["solo"] == terminated
                pinfos["solo"].pop("acting")
                assert _strip(pinfos["solo"]) == _nan_to_none(info)
                if terminated:
                    assert "propamm_episode" in info
                    aec.step(None)
                    assert aec.agents == [] and par.agents == []
                    break
            else:
                pytest.fail("the episode did not end")
    finally:
        single.close()
        aec.close()
        par.close()


def test_parallel_env_acting_agents_and_rewards(address: str) -> None:
    env = ParallelEnv(address, lineup=LINEUP, decision_interval=1_000_000, sim=SHORT)
    try:
        obs, infos = env.reset(seed=4)
        assert env.acting_agents == ["a", "b", "c"] and set(obs) == {"a", "b", "c"}
        assert all(i["acting"] for i in infos.values())
        # Only reset and epoch decisions: at each of the 3 boundaries, a, b, c in pool order.
        order = []
        totals = dict.fromkeys(env.possible_agents, 0.0)
        while env.agents:
            acting = list(env.acting_agents)
            order.append(acting)
            _, rewards, terms, _, infos = env.step({a: np.zeros(2, np.float32) for a in env.agents})
            for a, r in rewards.items():
                totals[a] += r
            if not all(terms.values()):
                assert [a for a, i in infos.items() if i["acting"]] == env.acting_agents
        assert order == [["a", "b", "c"], *[[x] for _ in range(3) for x in ("a", "b", "c")]]
        assert all(t != 0 for t in totals.values())
    finally:
        env.close()


def test_errors_name_the_problem(address: str) -> None:
    with pytest.raises(ServerError, match=r"CONFIG: lineup\[1\]: 'nope' is not a built-in"):
        AECEnv(address, lineup=[{"agent": "a"}, "nope"])
    with pytest.raises(ServerError, match="no agent"):
        AECEnv(address, lineup=["starter"])
    with pytest.raises(ValueError, match="not both"):
        AECEnv(address, lineup=[{"agent": "a"}], agents=2)
    env = AECEnv(address, agents=2, sim=SHORT)
    try:
        with pytest.raises(ServerError, match="ENV: call reset"):
            env.step(np.zeros(2))
        env.reset(seed=1)
        with pytest.raises(ServerError, match="BAD_ACTION"):
            env.step(np.array([0.0, np.nan]))
        with pytest.raises(ServerError, match="'agent_0' is live"):
            env.step(None)
        assert env.agent_selection == "agent_0"
        env.step(np.zeros(2))
        assert env.agent_selection == "agent_1"
    finally:
        env.close()
    par = ParallelEnv(address, agents=2, sim=SHORT)
    try:
        par.reset(seed=1)
        with pytest.raises(ServerError, match="no action for 'agent_1'"):
            par.step({"agent_0": np.zeros(2)})
        with pytest.warns(UserWarning, match="ignored"):
            par.reset(seed=1, options={"optoins": 1})
    finally:
        par.close()
