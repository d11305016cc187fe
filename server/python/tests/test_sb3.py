"""PropAmmSB3VecEnv: Stable-Baselines3's VecEnv contract (SB3 itself need not be installed)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ENV_KW, actions_for

from propamm_gym import EPISODE_KEY, PropAmmEnv, PropAmmSB3VecEnv
from propamm_gym.sb3 import HAVE_SB3


def test_spaces_reset_and_seed(address: str) -> None:
    with PropAmmSB3VecEnv(3, address, **ENV_KW) as venv:
        assert venv.num_envs == 3
        assert venv.observation_space.shape == (5,) and venv.action_space.shape == (2,)  # one env's
        assert venv.seed(40) == [40, 41, 42]
        obs = venv.reset()  # observations only
        assert isinstance(obs, np.ndarray) and obs.shape == (3, 5) and obs.dtype == np.float32
        assert [i["sim_seed"] for i in venv.reset_infos] == [40, 41, 42]
        venv.reset()  # seeds apply to one reset only: the next continues each env's stream
        assert [i["sim_seed"] for i in venv.reset_infos] != [40, 41, 42]
        seeds = venv.seed()  # a random base
        assert len(seeds) == 3 and seeds[1] == seeds[0] + 1  # type: ignore[operator]
        venv.set_options({"market": {"sigma": 0.001}})
        venv.reset()
        assert [i["sim_seed"] for i in venv.reset_infos] == seeds


def test_step_autoresets_with_terminal_observation(address: str) -> None:
    """step_async/step_wait; an ended env is reset in the same step, with SB3's info keys; the
    terminal observation and rewards equal a single env's episode on the same seed and actions."""
    n, seed = 2, 21
    actions = actions_for(4, 120, (n, 2))
    with PropAmmSB3VecEnv(n, address, **ENV_KW) as venv:
        venv.seed(seed)
        venv.reset()
        rewards: list[np.ndarray] = []
        for t in range(len(actions)):
            venv.step_async(actions[t])
            obs, rew, dones, infos = venv.step_wait()
            assert rew.dtype == np.float32 and rew.shape == (n,) and dones.dtype == np.bool_
            assert isinstance(infos, list) and len(infos) == n
            rewards.append(rew)
            if dones[0]:
                info = infos[0]
                assert info["terminal_observation"].shape == (5,)
                assert info["TimeLimit.truncated"] is False  # the episode terminated
                assert info["decision"] == "end" and "pools" in info[EPISODE_KEY]
                assert venv.reset_infos[0]["decision"] == "reset"
                assert not np.array_equal(obs[0], info["terminal_observation"])  # already the next episode
                end = t
                break
        else:
            pytest.fail("env 0 did not finish an episode")
    with PropAmmEnv(address, **ENV_KW) as env:
        env.reset(seed=seed)
        for t in range(end + 1):
            last, r, term, trunc, _ = env.step(actions[t, 0])
            assert np.float32(r) == rewards[t][0]
        assert term
        np.testing.assert_array_equal(last, info["terminal_observation"])


def test_attr_and_method_calls(address: str) -> None:
    venv = PropAmmSB3VecEnv(2, address, **ENV_KW)
    try:
        assert venv.render_mode is None and venv.get_attr("render_mode") == [None, None]
        assert venv.get_attr("num_envs", indices=[1]) == [2]
        venv.set_attr("list_infos", True)
        assert venv.get_attr("list_infos", indices=0) == [True]
        assert venv.env_is_wrapped(object) == [False, False]
        assert venv.env_method("__repr__", indices=[0, 1])[0] == repr(venv.venv)
        with pytest.raises(IndexError):
            venv.get_attr("num_envs", indices=[2])
        with pytest.raises(AttributeError):
            venv.get_attr("no_such_attribute")
        with pytest.raises(RuntimeError):
            venv.step_wait()
        with pytest.raises(TypeError, match="autoreset_mode"):
            PropAmmSB3VecEnv(2, address, autoreset_mode="next_step", **ENV_KW)
        assert venv.get_images() == [None, None] and venv.render() is None
        assert venv.unwrapped is venv
        venv.reset()
        obs, *_ = venv.step(np.zeros((2, 2), np.float32))
        assert obs.shape == (2, 5)
    finally:
        venv.close()
        venv.close()
    assert venv.closed


@pytest.mark.skipif(not HAVE_SB3, reason="stable-baselines3 is not installed")
def test_is_an_sb3_vec_env(address: str) -> None:  # pragma: no cover - only with SB3
    from stable_baselines3.common.vec_env import VecEnv, VecMonitor

    with PropAmmSB3VecEnv(2, address, **ENV_KW) as venv:
        assert isinstance(venv, VecEnv)
        mon = VecMonitor(venv)
        mon.reset()
        mon.step(np.zeros((2, 2), np.float32))
