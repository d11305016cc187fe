"""PropAmmVectorEnv: batched arrays, NEXT_STEP autoreset, equal to n single envs."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ENV_KW, actions_for
from gymnasium.vector import AutoresetMode

from propamm_gym import PropAmmEnv, PropAmmVectorEnv, ServerError


def test_spaces_and_metadata(address: str) -> None:
    with PropAmmVectorEnv(4, address, **ENV_KW) as envs:
        assert envs.num_envs == 4
        assert envs.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
        assert envs.single_observation_space.shape == (5,)
        assert envs.single_action_space.shape == (2,)
        assert envs.observation_space.shape == (4, 5) and envs.observation_space.dtype == np.float32
        assert envs.action_space.shape == (4, 2) and envs.action_space.dtype == np.float32
        obs, infos = envs.reset(seed=10)
        assert obs.shape == (4, 5) and obs.dtype == np.float32
        assert list(infos["sim_seed"]) == [10, 11, 12, 13] and infos["_sim_seed"].all()
        obs, rew, term, trunc, infos = envs.step(envs.action_space.sample())
        assert rew.shape == (4,) and rew.dtype == np.float64
        assert term.dtype == np.bool_ and trunc.dtype == np.bool_
        assert envs.observation_space.contains(obs)


def test_vector_env_matches_single_envs(address: str) -> None:
    n, seed, steps = 3, 100, 70  # 70 steps: every env crosses at least two episode ends
    actions = actions_for(9, steps, (n, 2))
    with PropAmmVectorEnv(n, address, **ENV_KW) as envs:
        obs, _ = envs.reset(seed=seed)
        v_obs, v_rew, v_term, v_reset = [obs], [], [], []
        for t in range(steps):
            obs, rew, term, trunc, infos = envs.step(actions[t])
            v_obs.append(obs)
            v_rew.append(rew)
            v_term.append(term | trunc)
            v_reset.append(infos.get("_autoreset", np.zeros(n, bool)) & infos.get("autoreset", np.zeros(n, bool)))
    v_obs_a, v_rew_a, v_term_a, v_reset_a = map(np.array, (v_obs, v_rew, v_term, v_reset))
    assert v_term_a.any(axis=0).all(), "every env should finish an episode"
    # NEXT_STEP: the step right after an episode end is the autoreset step, and only that one.
    np.testing.assert_array_equal(v_reset_a[1:], v_term_a[:-1])
    assert not v_reset_a[0].any()

    for i in range(n):
        with PropAmmEnv(address, **ENV_KW) as env:
            obs, _ = env.reset(seed=seed + i)
            np.testing.assert_array_equal(obs, v_obs_a[0, i])
            done = False
            for t in range(steps):
                if done:  # the vector env resets from the env's own seed stream
                    obs, _ = env.reset()
                    r, done = 0.0, False
                    assert v_reset_a[t, i]
                else:
                    obs, r, term, trunc, _ = env.step(actions[t, i])
                    done = term or trunc
                    assert v_term_a[t, i] == done
                np.testing.assert_array_equal(obs, v_obs_a[t + 1, i], err_msg=f"env {i} step {t}")
                assert r == v_rew_a[t, i], f"env {i} step {t}"


def test_flat_actions_and_seed_lists(address: str) -> None:
    with PropAmmVectorEnv(2, address, **ENV_KW) as a, PropAmmVectorEnv(2, address, **ENV_KW) as b:
        oa, _ = a.reset(seed=[5, 6])
        ob, _ = b.reset(seed=5)
        np.testing.assert_array_equal(oa, ob)
        acts = actions_for(3, 1, (2, 2))[0]
        ra = a.step(acts.reshape(-1))  # a flat [2n] is accepted
        rb = b.step(acts.astype(np.float64))
        np.testing.assert_array_equal(ra[0], rb[0])
        np.testing.assert_array_equal(ra[1], rb[1])
        with pytest.raises(ValueError, match="2 entries"):
            a.reset(seed=[1, 3, 5])
        with pytest.raises(ValueError):
            a.step(np.zeros((3, 2), np.float32))


def test_same_step_autoreset(address: str) -> None:
    with PropAmmVectorEnv(2, address, autoreset_mode="same_step", **ENV_KW) as envs:
        assert envs.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
        envs.reset(seed=0)
        for _ in range(200):
            _, _, term, trunc, infos = envs.step(envs.action_space.sample())
            if (term | trunc).any():
                i = int(np.flatnonzero(term | trunc)[0])
                assert infos["_final_obs"][i] and infos["final_obs"][i].shape == (5,)
                assert infos["decision"][i] == "reset"  # already the next episode's first observation
                assert "propamm_episode" in infos["final_info"] and infos["final_info"]["_propamm_episode"][i]
                return
        pytest.fail("no episode ended")


def test_list_infos_and_close_twice(address: str) -> None:
    envs = PropAmmVectorEnv(3, address, list_infos=True, **ENV_KW)
    _, infos = envs.reset(seed=1)
    assert isinstance(infos, list) and [i["sim_seed"] for i in infos] == [1, 2, 3]
    envs.close()
    envs.close()
    assert envs.closed


def test_gymnasium_vector_wrappers(address: str) -> None:
    """Gymnasium's vector wrappers accept it (they check the autoreset mode and the info format)."""
    from gymnasium.wrappers.vector import ClipAction, RecordEpisodeStatistics

    envs = RecordEpisodeStatistics(ClipAction(PropAmmVectorEnv(2, address, **ENV_KW)), stats_key="episode_stats")
    try:
        envs.reset(seed=0)
        for _ in range(100):
            _, _, term, trunc, infos = envs.step(np.full((2, 2), 3.0, np.float32))  # clipped to 1
            if (term | trunc).any():
                i = int(np.flatnonzero(term | trunc)[0])
                assert infos["_episode_stats"][i] and infos["episode_stats"]["l"][i] > 10
                return
        pytest.fail("no episode ended")
    finally:
        envs.close()


def test_arbitrary_seed_lists(address: str) -> None:
    """Any per-env seeds (None: that env's own stream), each equal to a single env on that seed."""
    seeds = [42, 7, None, 1000]
    with PropAmmVectorEnv(4, address, list_infos=True, **ENV_KW) as envs:
        obs, infos = envs.reset(seed=seeds)
        assert [i["sim_seed"] for i in infos][:2] == [42, 7] and infos[3]["sim_seed"] == 1000
        acts = actions_for(11, 5, (4, 2))
        rows = [obs]
        for a in acts:
            rows.append(envs.step(a)[0])
    for i in (0, 1, 3):
        with PropAmmEnv(address, **ENV_KW) as env:
            o, _ = env.reset(seed=seeds[i])
            single = [o] + [env.step(a[i])[0] for a in acts]
        np.testing.assert_array_equal(np.array(single), np.array(rows)[:, i], err_msg=f"env {i}")


def test_partial_reset_by_mask(address: str) -> None:
    """Gymnasium's vector API: options={"reset_mask": mask} resets only the masked envs."""
    with PropAmmVectorEnv(3, address, **ENV_KW) as envs:
        envs.reset(seed=0)
        for _ in range(4):
            before, *_ = envs.step(np.zeros((3, 2), np.float32))
        mask = np.array([False, True, False])
        obs, infos = envs.reset(seed=[None, 77, None], options={"reset_mask": mask})
        np.testing.assert_array_equal(obs[[0, 2]], before[[0, 2]])  # untouched envs keep their row
        np.testing.assert_array_equal(infos["_sim_seed"], mask)  # infos only for the reset env
        assert infos["sim_seed"][1] == 77 and infos["decision"][1] == "reset"
        with PropAmmEnv(address, **ENV_KW) as single:
            o, _ = single.reset(seed=77)
        np.testing.assert_array_equal(obs[1], o)
        # The others go on with their episodes: their sim_step keeps growing.
        _, _, _, _, infos = envs.step(np.zeros((3, 2), np.float32))
        assert infos["sim_step"][0] == infos["sim_step"][2] > infos["sim_step"][1]
        # An int seed with a mask: env i gets seed + i, as Gymnasium's SyncVectorEnv does.
        _, infos = envs.reset(seed=10, options={"reset_mask": np.array([True, False, True])})
        assert infos["sim_seed"][0] == 10 and infos["sim_seed"][2] == 12 and not infos["_sim_seed"][1]
        with pytest.raises(ValueError, match="no env"):
            envs.reset(options={"reset_mask": np.zeros(3, bool)})
        with pytest.raises(ValueError, match="3 bools"):
            envs.reset(options={"reset_mask": [True, False]})


def test_partial_reset_first_reset_must_cover_every_env(address: str) -> None:
    with PropAmmVectorEnv(2, address, **ENV_KW) as envs:
        with pytest.raises(ServerError) as e:
            envs.reset(options={"reset_mask": np.array([True, False])})
        assert e.value.code == "ENV" and "first reset" in e.value.message
