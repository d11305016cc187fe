"""A server session: ``make`` once, then ``reset``/``step`` batches of ``num_envs`` envs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium
import numpy as np

from .client import Connection
from .protocol import ProtocolError, decode_array, encode_array

OBS_DTYPE = np.float32


def box_from_json(space: Mapping[str, Any]) -> gymnasium.spaces.Box:
    """The server's ``{type: "Box", shape, dtype, low, high}`` -> a float32 gymnasium Box."""
    if not isinstance(space, Mapping) or space.get("type") != "Box":
        raise ProtocolError(f"expected a Box space, got {space!r}")
    if space.get("dtype") != "float32":
        raise ProtocolError(f"expected a float32 Box, got dtype {space.get('dtype')!r}")
    shape = tuple(int(s) for s in space["shape"])
    low = np.asarray(space["low"], dtype=np.float32).reshape(shape)
    high = np.asarray(space["high"], dtype=np.float32).reshape(shape)
    return gymnasium.spaces.Box(low=low, high=high, shape=shape, dtype=np.float32)


def env_config(
    *,
    opponents: Sequence[str] | None = None,
    decision_interval: int | None = None,
    reward_mode: str | None = None,
    reward_baseline: str | None = None,
    reward_scale: float | None = None,
    fee_min_bps: float | None = None,
    fee_max_bps: float | None = None,
    sim: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``make`` config map: only the options given (the server fills in its defaults)."""
    config: dict[str, Any] = {}
    if opponents is not None:
        if isinstance(opponents, str):
            opponents = [opponents]
        config["opponents"] = list(opponents)
    if decision_interval is not None:
        config["decision_interval"] = int(decision_interval)
    if reward_mode is not None:
        config["reward_mode"] = reward_mode
    if reward_baseline is not None:
        config["reward_baseline"] = reward_baseline
    if reward_scale is not None:
        config["reward_scale"] = float(reward_scale)
    if fee_min_bps is not None:
        config["fee_min_bps"] = float(fee_min_bps)
    if fee_max_bps is not None:
        config["fee_max_bps"] = float(fee_max_bps)
    if sim is not None:
        config["sim"] = dict(sim)
    return config


@dataclass
class StepBatch:
    observations: np.ndarray  # float32 [n, obs]
    rewards: np.ndarray  # float64 [n]
    terminated: np.ndarray  # bool [n]
    truncated: np.ndarray  # bool [n]
    infos: list[dict[str, Any]]


class Session:
    """One ``make``-d session on a connection (``hello`` first, to learn the spaces and limits)."""

    def __init__(
        self,
        conn: Connection,
        num_envs: int,
        config: Mapping[str, Any],
        autoreset_mode: str = "next_step",
    ) -> None:
        self.conn = conn
        self.hello = conn.hello()
        reply = conn.request(
            "make",
            {"num_envs": int(num_envs), "config": dict(config), "autoreset_mode": autoreset_mode},
        )
        self.env_id: str = reply["env_id"]
        self.num_envs = int(reply["num_envs"])
        self.autoreset_mode: str = reply.get("autoreset_mode", autoreset_mode)
        self.observation_space = box_from_json(reply.get("observation_space", self.hello["observation_space"]))
        self.action_space = box_from_json(reply.get("action_space", self.hello["action_space"]))
        self._obs_shape = (self.num_envs, *self.observation_space.shape)
        self._act_shape = (self.num_envs, *self.action_space.shape)
        self.open = True

    def _observations(self, reply: Mapping[str, Any]) -> np.ndarray:
        obs = decode_array(reply["observations"], writable=True)
        if obs.dtype != OBS_DTYPE:
            obs = obs.astype(OBS_DTYPE)
        if obs.shape != self._obs_shape:
            obs = obs.reshape(self._obs_shape)
        return obs

    def reset(self, seed: int | None, options: Mapping[str, Any] | None) -> tuple[np.ndarray, list[dict[str, Any]]]:
        fields: dict[str, Any] = {"env_id": self.env_id, "seed": None if seed is None else int(seed)}
        fields["options"] = None if options is None else dict(options)
        reply = self.conn.request("reset", fields)
        return self._observations(reply), list(reply["infos"])

    def step(self, actions: Any) -> StepBatch:
        a = np.asarray(actions)
        if a.dtype != np.float32 and a.dtype != np.float64:
            a = a.astype(np.float32)
        if a.size != self._act_shape[0] * self._act_shape[1]:
            raise ValueError(f"actions must have shape {self._act_shape}, got {a.shape}")
        reply = self.conn.request("step", {"env_id": self.env_id, "actions": encode_array(a.reshape(self._act_shape))})
        rewards = decode_array(reply["rewards"], writable=True)
        if rewards.dtype != np.float64:
            rewards = rewards.astype(np.float64)
        return StepBatch(
            observations=self._observations(reply),
            rewards=rewards.reshape(self.num_envs),
            terminated=decode_array(reply["terminated"]).reshape(self.num_envs).astype(bool),
            truncated=decode_array(reply["truncated"]).reshape(self.num_envs).astype(bool),
            infos=list(reply["infos"]),
        )

    def close(self, timeout_s: float = 1.0) -> None:
        """Closes the session on the server: one short attempt, errors ignored, then the socket."""
        if not self.open:
            return
        self.open = False
        try:
            if not self.conn.closed:
                self.conn.request(
                    "close", {"env_id": self.env_id}, timeout_s=min(timeout_s, self.conn.timeout_s), retries=1
                )
        except Exception:
            pass  # server gone or session already freed: nothing left to release
        finally:
            self.conn.close()
