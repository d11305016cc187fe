"""PropAmmEnv: one prop-amm gym environment served by ``propamm serve``, as a ``gymnasium.Env``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium
import numpy as np
from gymnasium.envs.registration import EnvSpec

from .client import DEFAULT_ADDRESS, Connection
from .session import Session, env_config

ENV_ID = "propamm_gym/PropAmm-v0"


class RenderModeError(ValueError, TypeError):
    """A render mode other than None. Also a TypeError, so that SB3's ``make_vec_env`` (which
    tries ``render_mode="rgb_array"`` and retries without it on a TypeError) makes the env."""


def check_render_mode(render_mode: str | None, cls: str) -> None:
    if render_mode is not None:
        raise RenderModeError(f"{cls} draws nothing: render_mode must be None (got {render_mode!r})")


class PropAmmEnv(gymnasium.Env[np.ndarray, np.ndarray]):
    """The fee-setting MDP (docs/gym.md) over the ZeroMQ protocol (docs/protocol.md).

    Observation: float32 ``(5,)`` (sigma_hat, flow_ema, capital_weight, epoch_step, n_pools),
    ``(6,)`` with ``observation="seed-vol"`` (those and a per-step volatility estimate), or
    ``(17,)`` with ``observation="extended"`` (the last trade, spots against the other pools,
    timing, flow by side, the last epoch's edge; docs/spec.md §6.3);
    action: float32 ``(2,)`` in [-1, 1] (side-0 and side-1 fee). ``reset(seed=s)`` runs the
    episode on simulation seed ``s``; ``reset()`` takes the next seed from the env's stream.
    ``reset(options={"market": {"sigma": 0.002}})`` pins market parameters.

    Args:
        address: the server's endpoint.
        opponents, decision_interval, observation, reward_mode, reward_baseline, risk_penalty, reward_scale, fee_min_bps, fee_max_bps, sim:
            the env config (``make``); ``None`` keeps the server's default. ``sim`` takes the
            simulation options in snake_case (``steps``, ``epoch_len``, ``pins``, ...).
        timeout_s, retries: per-request timeout and attempts in all (lazy pirate).
        reconnect: make the session again when the server no longer knows it (it restarted):
            ``reset`` goes on transparently, a ``step`` returns ``truncated=True`` with
            ``info["session_lost"]`` and the next ``reset`` runs on the new session.
        render_mode: only ``None`` (the env draws nothing); accepted so that wrappers and
            SB3's ``make_vec_env`` can pass it.

    The episode summary of an ended episode is ``info["propamm_episode"]`` (``info["episode"]``
    is left to Gymnasium's ``RecordEpisodeStatistics`` and SB3's ``Monitor``). A session that is
    garbage-collected without ``close()`` is closed on the server by a finalizer.
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(
        self,
        address: str = DEFAULT_ADDRESS,
        *,
        opponents: Sequence[str] | None = None,
        decision_interval: int | None = None,
        observation: str | None = None,
        reward_mode: str | None = None,
        reward_baseline: str | None = None,
        risk_penalty: str | None = None,
        reward_scale: float | None = None,
        fee_min_bps: float | None = None,
        fee_max_bps: float | None = None,
        sim: Mapping[str, Any] | None = None,
        timeout_s: float = 10.0,
        retries: int = 3,
        reconnect: bool = True,
        render_mode: str | None = None,
    ) -> None:
        check_render_mode(render_mode, type(self).__name__)
        self.render_mode = None
        self.config = env_config(
            opponents=opponents,
            decision_interval=decision_interval,
            observation=observation,
            reward_mode=reward_mode,
            reward_baseline=reward_baseline,
            risk_penalty=risk_penalty,
            reward_scale=reward_scale,
            fee_min_bps=fee_min_bps,
            fee_max_bps=fee_max_bps,
            sim=sim,
        )
        conn = Connection(address, timeout_s=timeout_s, retries=retries)
        try:
            self._session = Session(conn, 1, self.config, reconnect=reconnect)
        except BaseException:
            conn.close()
            raise
        self.server_info: dict[str, Any] = self._session.hello
        self.observation_space = self._session.observation_space
        self.action_space = self._session.action_space
        # A spec lets gymnasium (and check_env) re-create this env with the same arguments.
        self.spec = EnvSpec(
            id=ENV_ID,
            entry_point="propamm_gym.env:PropAmmEnv",
            kwargs={
                "address": address,
                **self.config,
                "timeout_s": timeout_s,
                "retries": retries,
                "reconnect": reconnect,
            },
        )

    @property
    def address(self) -> str:
        return self._session.conn.address

    @property
    def env_id(self) -> str:
        """The server session's id (a new one after the session was made again)."""
        return self._session.env_id

    @property
    def recreated(self) -> int:
        """How many times the session was made again after the server lost it."""
        return self._session.recreated

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        obs, infos = self._session.reset(seed, options)
        return obs[0], infos[0]

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        r = self._session.step(np.asarray(action).reshape(1, -1))
        return r.observations[0], float(r.rewards[0]), bool(r.terminated[0]), bool(r.truncated[0]), r.infos[0]

    def close(self) -> None:
        """Closes the server session and the socket; a second call is a no-op. Never hangs."""
        session = getattr(self, "_session", None)
        if session is not None:
            session.close()
        super().close()
