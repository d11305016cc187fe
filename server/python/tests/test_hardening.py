"""Leaked clients, server restarts, Gymnasium/SB3 compatibility, fair scheduling, signals."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any, Callable

import gymnasium
import numpy as np
import pytest
from conftest import ENV_KW, HERE, REPO_ROOT, ServerProcess

from propamm_gym import (
    ENV_ID,
    AECEnv,
    ParallelEnv,
    EPISODE_KEY,
    Connection,
    PropAmmEnv,
    PropAmmVectorEnv,
    RenderModeError,
    ServerError,
)


def sessions_open(address: str) -> int:
    with Connection(address, timeout_s=5) as c:
        return int(c.hello()["sessions_open"])


# -- 1. leaked clients --------------------------------------------------------------------------


def test_clients_dropped_without_close_free_their_sessions(spawn_server: Callable[..., ServerProcess]) -> None:
    """Twice max_sessions clients, each dropped without close(): the finalizer closes each
    session, so none is refused (eviction is off: --evict-idle as long as the idle timeout)."""
    srv = spawn_server("--max-sessions", "4", "--evict-idle", "600")
    for i in range(8):
        env = PropAmmEnv(srv.address, **ENV_KW)
        env.reset(seed=i)
        del env  # no close()
        gc.collect()
    assert sessions_open(srv.address) == 0
    # Held in a reference cycle, collected only by the cycle collector: freed all the same.
    holders: list[Any] = []
    for _ in range(4):
        h: dict[str, Any] = {"env": PropAmmVectorEnv(2, srv.address, **ENV_KW)}
        h["self"] = h
        holders.append(h)
    del h
    holders.clear()
    gc.collect()
    with PropAmmEnv(srv.address, **ENV_KW) as env:
        env.reset(seed=1)
        assert sessions_open(srv.address) == 1


_HOLD_SESSIONS = """
import os, sys
from propamm_gym import PropAmmEnv
kw = {"opponents": ["starter"], "sim": {"steps": 2000, "epoch_len": 500}}
envs = [PropAmmEnv(sys.argv[1], **kw) for _ in range(int(sys.argv[2]))]
for e in envs:
    e.reset(seed=1)
print("made", flush=True)
os._exit(0)  # dies without close() and without finalizers, like a killed trainer
"""


def test_sessions_of_dead_client_processes_are_evicted(spawn_server: Callable[..., ServerProcess]) -> None:
    """A process that dies holding every session slot: a new client gets a slot once the dead
    sessions have been idle --evict-idle seconds, and a live client keeps its session."""
    srv = spawn_server("--max-sessions", "3", "--evict-idle", "1")
    live = PropAmmEnv(srv.address, **ENV_KW)
    live.reset(seed=5)
    env_vars = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    res = subprocess.run(
        [sys.executable, "-c", _HOLD_SESSIONS, srv.address, "2"],
        env=env_vars,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0 and "made" in res.stdout, res.stderr
    assert sessions_open(srv.address) == 3
    with pytest.raises(ServerError) as e:  # all three were used within the last second
        PropAmmEnv(srv.address, **ENV_KW)
    assert e.value.code == "TOO_MANY_SESSIONS"
    time.sleep(1.5)  # the dead sessions pass the eviction floor
    live.step(np.zeros(2, np.float32))  # the live one is busy again: it is not the longest idle
    with PropAmmEnv(srv.address, **ENV_KW) as newcomer:
        newcomer.reset(seed=2)
        newcomer.step(np.zeros(2, np.float32))
    live.step(np.zeros(2, np.float32))
    assert live.recreated == 0
    live.close()


# -- 2. server restart --------------------------------------------------------------------------


def test_client_recreates_its_env_after_a_server_restart(spawn_server: Callable[..., ServerProcess]) -> None:
    srv = spawn_server()
    env = PropAmmEnv(srv.address, timeout_s=2, retries=15, **ENV_KW)
    other = PropAmmVectorEnv(2, srv.address, timeout_s=2, retries=15, **ENV_KW)
    obs0, _ = env.reset(seed=3)
    first_id = env.env_id
    last, *_ = env.step(np.zeros(2, np.float32))
    other_obs0, _ = other.reset(seed=8)
    srv.stop()
    spawn_server(address=srv.address)  # a new server process on the same address
    # A step: the session is gone; the client makes it again and ends the episode (truncated).
    obs, reward, terminated, truncated, info = env.step(np.zeros(2, np.float32))
    assert truncated and not terminated and reward == 0.0 and info == {"session_lost": True}
    np.testing.assert_array_equal(obs, last)
    assert env.recreated == 1 and env.env_id != first_id
    # The next reset runs on the new session, with the same config.
    obs, info = env.reset(seed=3)
    np.testing.assert_array_equal(obs, obs0)
    env.step(np.zeros(2, np.float32))
    # A reset after a restart is sent again transparently.
    obs, infos = other.reset(seed=8)
    np.testing.assert_array_equal(obs, other_obs0)
    assert other.recreated == 1 and list(infos["sim_seed"]) == [8, 9]
    env.close()
    other.close()


def _ma_kw() -> dict[str, Any]:
    return {
        "lineup": [{"agent": "a"}, "starter", {"agent": "b"}],
        "decision_interval": 100,
        "sim": {"steps": 1000, "epoch_len": 250},
        "timeout_s": 2,
        "retries": 15,
    }


def test_multi_agent_envs_recreate_their_session_after_a_server_restart(
    spawn_server: Callable[..., ServerProcess],
) -> None:
    """The PettingZoo envs, as the single-agent one above: a step on a lost session ends the
    episode for every live agent (truncated, reward 0, session_lost); the next reset, on the new
    session with the same line-up and config, plays the same episode again."""
    srv = spawn_server()
    par = ParallelEnv(srv.address, **_ma_kw())
    aec = AECEnv(srv.address, **_ma_kw())
    first = (par.env_id, aec.env_id)
    obs0, _ = par.reset(seed=4)
    par.step({a: np.zeros(2, np.float32) for a in par.acting_agents})
    aec.reset(seed=4)
    aec_obs0 = {a: aec.observe(a) for a in aec.agents}
    aec.step(np.zeros(2, np.float32))
    srv.stop()
    spawn_server(address=srv.address)

    obs, rewards, terms, truncs, infos = par.step({a: np.zeros(2, np.float32) for a in par.acting_agents})
    assert sorted(obs) == ["a", "b"] and par.agents == []
    assert rewards == {"a": 0.0, "b": 0.0} and terms == {"a": False, "b": False} and truncs == {"a": True, "b": True}
    assert all(i["session_lost"] for i in infos.values())
    assert par.recreated == 1 and par.env_id != first[0]
    again, _ = par.reset(seed=4)
    for a in obs0:
        np.testing.assert_array_equal(again[a], obs0[a])
    par.step({a: np.zeros(2, np.float32) for a in par.acting_agents})

    aec.step(np.zeros(2, np.float32))
    _, reward, terminated, truncated, info = aec.last()
    assert truncated and not terminated and reward == 0.0 and info == {"session_lost": True}
    with pytest.raises(ValueError, match="takes None"):
        aec.step(np.zeros(2, np.float32))
    while aec.agents:  # every truncated agent leaves with step(None), as pettingzoo's loop does
        aec.step(None)
    assert aec.recreated == 1 and aec.env_id != first[1]
    aec.reset(seed=4)
    for a, o in aec_obs0.items():
        np.testing.assert_array_equal(aec.observe(a), o)
    aec.step(np.zeros(2, np.float32))
    par.close()
    aec.close()


def test_multi_agent_env_without_reconnect_raises_unknown_env(spawn_server: Callable[..., ServerProcess]) -> None:
    srv = spawn_server()
    par = ParallelEnv(srv.address, reconnect=False, **_ma_kw())
    par.reset(seed=1)
    srv.stop()
    spawn_server(address=srv.address)
    with pytest.raises(ServerError) as e:
        par.step({a: np.zeros(2, np.float32) for a in par.acting_agents})
    assert e.value.code == "UNKNOWN_ENV" and par.recreated == 0
    par.close()


# -- 3. info["episode"] is left to Gymnasium's and SB3's episode statistics ---------------------


def test_record_episode_statistics_owns_the_episode_key(address: str) -> None:
    env = gymnasium.wrappers.RecordEpisodeStatistics(PropAmmEnv(address, **ENV_KW))
    try:
        env.reset(seed=2)
        for _ in range(200):
            _, _, term, trunc, info = env.step(np.zeros(2, np.float32))
            if term or trunc:
                assert set(info["episode"]) == {"r", "l", "t"} and info["episode"]["l"] > 10
                assert {"pools", "agent_epochs"} <= set(info[EPISODE_KEY])
                assert EPISODE_KEY == "propamm_episode"
                return
        pytest.fail("no episode ended")
    finally:
        env.close()


def test_vector_record_episode_statistics_owns_the_episode_key(address: str) -> None:
    from gymnasium.wrappers.vector import RecordEpisodeStatistics

    envs = RecordEpisodeStatistics(PropAmmVectorEnv(2, address, **ENV_KW))
    try:
        envs.reset(seed=0)
        for _ in range(200):
            _, _, term, trunc, infos = envs.step(np.zeros((2, 2), np.float32))
            if (term | trunc).any():
                i = int(np.flatnonzero(term | trunc)[0])
                assert set(infos["episode"]) == {"r", "l", "t"} and infos["_episode"][i]
                assert infos["_propamm_episode"][i] and "pools" in infos["propamm_episode"]
                return
        pytest.fail("no episode ended")
    finally:
        envs.close()


# -- 4. render_mode -----------------------------------------------------------------------------


def test_render_mode_none_is_accepted(address: str) -> None:
    with PropAmmEnv(address, render_mode=None, **ENV_KW) as env:
        assert env.render_mode is None and env.metadata["render_modes"] == []
    with PropAmmVectorEnv(2, address, render_mode=None, **ENV_KW) as envs:
        assert envs.render_mode is None
    env = gymnasium.make(ENV_ID, address=address, render_mode=None, **ENV_KW)
    env.close()
    with pytest.raises(RenderModeError) as e:
        PropAmmEnv(address, render_mode="human", **ENV_KW)
    assert isinstance(e.value, ValueError) and isinstance(e.value, TypeError) and "None" in str(e.value)


def test_sb3_make_vec_env_fallback(address: str) -> None:
    """What SB3's make_vec_env does: gym.make(id, render_mode="rgb_array", **kw), and on a
    TypeError gym.make(id, **kw). The env must end up made."""
    kwargs = {"address": address, **ENV_KW}
    with pytest.warns(UserWarning, match="render_mode"):
        try:
            env = gymnasium.make(ENV_ID, render_mode="rgb_array", **kwargs)
        except TypeError:
            env = gymnasium.make(ENV_ID, **kwargs)
    try:
        obs, _ = env.reset(seed=0)
        assert obs.shape == (5,)
    finally:
        env.close()


# -- 7. fair scheduling -------------------------------------------------------------------------


def test_light_client_is_not_serialized_behind_a_heavy_one(spawn_server: Callable[..., ServerProcess]) -> None:
    """While one step of a 512-env session runs, a one-env client's steps keep being answered."""
    srv = spawn_server()
    heavy_kw = {"opponents": ["starter"], "decision_interval": 400, "sim": {"steps": 10_000, "epoch_len": 1000}}
    heavy = PropAmmVectorEnv(512, srv.address, timeout_s=300, retries=1, list_infos=True, **heavy_kw)
    light = PropAmmEnv(srv.address, timeout_s=300, retries=1, **ENV_KW)
    heavy.reset(seed=0)
    light.reset(seed=0)
    sent = threading.Event()
    done = threading.Event()  # set when the heavy reply's bytes arrive (before the client decodes them)
    errors: list[BaseException] = []
    conn = heavy._session.conn
    exchange = conn._exchange

    def exchange_and_mark(sock: Any, payload: bytes, deadline: float) -> Any:
        frame = exchange(sock, payload, deadline)
        done.set()
        return frame

    conn._exchange = exchange_and_mark  # type: ignore[method-assign]

    def run_heavy() -> None:
        try:
            sent.set()
            heavy.step(np.zeros((512, 2), np.float32))
        except BaseException as e:
            errors.append(e)
        finally:
            done.set()

    th = threading.Thread(target=run_heavy)
    th.start()
    sent.wait()
    time.sleep(0.05)  # let the heavy request reach the server first
    light_steps = 0
    while not done.is_set():
        _, _, term, trunc, _ = light.step(np.zeros(2, np.float32))
        if term or trunc:
            light.reset()
        if not done.is_set():
            light_steps += 1
    th.join()
    assert not errors, errors
    # Unsliced, the heavy step held the server until it ended: no light step got in (0 with the
    # server before slicing).
    assert light_steps >= 5, light_steps
    heavy.close()
    light.close()


# -- 8. signals ---------------------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name)
def test_server_exits_cleanly_on_signal(spawn_server: Callable[..., ServerProcess], sig: signal.Signals) -> None:
    srv = spawn_server()
    env = PropAmmEnv(srv.address, timeout_s=1, retries=1, reconnect=False, **ENV_KW)
    env.reset(seed=0)
    srv.proc.send_signal(sig)
    assert srv.proc.wait(30) == 0
    out = srv.proc.stdout.read() if srv.proc.stdout else ""
    assert f"{sig.name}: shutting down" in out
    env.close()


def test_docs_name_the_direct_server_command() -> None:
    """`npx propamm serve` runs the server as npx's child: the docs show the command to use
    when the server is managed by its PID."""
    for doc in (REPO_ROOT / "README.md", REPO_ROOT / "docs" / "protocol.md"):
        assert "node dist/cli/main.js serve" in doc.read_text(), doc
