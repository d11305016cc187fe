"""A server session: ``make`` once, then ``reset``/``step`` batches of ``num_envs`` envs."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium
import numpy as np

from .client import Connection
from .protocol import ProtocolError, ServerError, decode_array, encode_array

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
    observation: str | None = None,
    reward_mode: str | None = None,
    reward_baseline: str | None = None,
    risk_penalty: str | None = None,
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
    if observation is not None:
        config["observation"] = observation
    if reward_mode is not None:
        config["reward_mode"] = reward_mode
    if reward_baseline is not None:
        config["reward_baseline"] = reward_baseline
    if risk_penalty is not None:
        config["risk_penalty"] = risk_penalty
    if reward_scale is not None:
        config["reward_scale"] = float(reward_scale)
    if fee_min_bps is not None:
        config["fee_min_bps"] = float(fee_min_bps)
    if fee_max_bps is not None:
        config["fee_max_bps"] = float(fee_max_bps)
    if sim is not None:
        config["sim"] = dict(sim)
    return config


#: The info key of an episode summary (``{pools, agent_epochs}``) when an episode ends. The wire
#: calls it ``episode``; the client renames it, as Gymnasium's ``RecordEpisodeStatistics`` and
#: SB3's ``Monitor`` write their own statistics under ``info["episode"]``.
EPISODE_KEY = "propamm_episode"

log = logging.getLogger("propamm_gym")


def rename_episode(info: dict[str, Any]) -> dict[str, Any]:
    """Moves the server's ``episode`` summary to :data:`EPISODE_KEY` (in ``final_info`` too)."""
    if "episode" in info:
        info[EPISODE_KEY] = info.pop("episode")
    final = info.get("final_info")
    if isinstance(final, dict):
        rename_episode(final)
    return info


@dataclass
class StepBatch:
    observations: np.ndarray  # float32 [n, obs]
    rewards: np.ndarray  # float64 [n]
    terminated: np.ndarray  # bool [n]
    truncated: np.ndarray  # bool [n]
    infos: list[dict[str, Any]]


class _Remote:
    """What the finalizer needs to close a session: the connection and the current env id."""

    def __init__(self, conn: Connection, env_id: str) -> None:
        self.conn = conn
        self.env_id = env_id


def _release(remote: _Remote, timeout_s: float) -> None:
    """Closes the server session (one short attempt, errors ignored), then the socket.

    Run by :meth:`Session.close`, or by the finalizer when a session is garbage-collected (or the
    interpreter exits) without ``close()``, so a dropped client does not hold a server slot.
    """
    conn = remote.conn
    try:
        if not conn.closed:
            conn.request("close", {"env_id": remote.env_id}, timeout_s=min(timeout_s, conn.timeout_s), retries=1)
    except Exception:
        pass  # server gone or session already freed: nothing left to release
    finally:
        conn.close()


class Session:
    """One ``make``-d session on a connection (``hello`` first, to learn the spaces and limits).

    With ``reconnect`` (the default), a session the server no longer knows (``UNKNOWN_ENV``:
    the server restarted, or freed or evicted the session) is made again with the same config:
    a ``reset`` is then sent again, transparently; a ``step`` ends every env's episode
    (``truncated``, reward 0, ``info["session_lost"]``) and the next step (NEXT_STEP) or this one
    (SAME_STEP) resets them, as an autoreset would. ``recreated`` counts these.
    """

    def __init__(
        self,
        conn: Connection,
        num_envs: int,
        config: Mapping[str, Any],
        autoreset_mode: str = "next_step",
        *,
        reconnect: bool = True,
    ) -> None:
        self.conn = conn
        self.config = dict(config)
        self.reconnect = reconnect
        self.recreated = 0
        self._requested_envs = int(num_envs)
        self._requested_mode = autoreset_mode
        self._make()
        self._remote = _Remote(conn, self.env_id)
        self._finalizer = weakref.finalize(self, _release, self._remote, 1.0)
        self._last_obs: np.ndarray | None = None
        self._pending_reset = False

    def _make(self) -> None:
        self.hello = self.conn.hello()
        reply = self.conn.request(
            "make",
            {"num_envs": self._requested_envs, "config": self.config, "autoreset_mode": self._requested_mode},
        )
        self.env_id: str = reply["env_id"]
        self.num_envs = int(reply["num_envs"])
        self.autoreset_mode: str = reply.get("autoreset_mode", self._requested_mode)
        self.observation_space = box_from_json(reply.get("observation_space", self.hello["observation_space"]))
        self.action_space = box_from_json(reply.get("action_space", self.hello["action_space"]))
        self._obs_shape = (self.num_envs, *self.observation_space.shape)
        self._act_shape = (self.num_envs, *self.action_space.shape)

    @property
    def open(self) -> bool:
        return self._finalizer.alive

    @property
    def features(self) -> frozenset[str]:
        """What the server supports beyond protocol 1's first revision (hello's ``features``)."""
        return frozenset(str(f) for f in self.hello.get("features", ()))

    def _remake(self) -> None:
        old = self.env_id
        self._make()
        self._remote.env_id = self.env_id
        self.recreated += 1
        log.warning(
            "prop-amm gym session %s is gone from %s (server restarted, or the session was freed); "
            "made %s with the same config",
            old,
            self.conn.address,
            self.env_id,
        )

    def _request(self, cmd: str, fields: dict[str, Any]) -> dict[str, Any] | None:
        """The request on this session; None when the session was lost and has just been made again."""
        try:
            return self.conn.request(cmd, {"env_id": self.env_id, **fields})
        except ServerError as e:
            if e.code != "UNKNOWN_ENV" or not self.reconnect or not self.open:
                raise
        self._remake()
        return None

    def _observations(self, reply: Mapping[str, Any]) -> np.ndarray:
        obs = decode_array(reply["observations"], writable=True)
        if obs.dtype != OBS_DTYPE:
            obs = obs.astype(OBS_DTYPE)
        if obs.shape != self._obs_shape:
            obs = obs.reshape(self._obs_shape)
        return obs

    def reset(
        self,
        seed: int | None,
        options: Mapping[str, Any] | None,
        *,
        seeds: Sequence[int | None] | None = None,
        mask: Sequence[bool] | np.ndarray | None = None,
    ) -> tuple[np.ndarray, list[dict[str, Any]]]:
        """Resets the envs: env i gets ``seed + i``, or ``seeds[i]`` (None: its own stream).

        With ``mask``, only the envs whose entry is true reset; the others keep their episode,
        their observation row is their latest one and their info is ``{}``.
        """
        self._check_open()
        fields: dict[str, Any] = {"seed": None if seed is None else int(seed)}
        fields["options"] = None if options is None else dict(options)
        if seeds is not None:
            if seed is not None:
                raise ValueError("give seed or seeds, not both")
            seed_list = [None if s is None else int(s) for s in seeds]
            if len(seed_list) != self.num_envs:
                raise ValueError(f"seeds must hold {self.num_envs} entries (one per env), got {len(seed_list)}")
            if any(s is not None and s < 0 for s in seed_list):
                raise ValueError(f"seeds must be integers >= 0 or None, got {seed_list}")
            self._require("reset_seeds", "per-env seed lists")
            fields["seeds"] = seed_list
        if mask is not None:
            flags = np.asarray(mask)
            if flags.shape != (self.num_envs,) or not (flags.dtype == np.bool_ or np.isin(flags, (0, 1)).all()):
                raise ValueError(f"reset mask must be {self.num_envs} bools, got {flags!r}")
            if not flags.any():
                raise ValueError("reset mask resets no env (every entry is false)")
            if not flags.all():
                if self._pending_reset:
                    raise ValueError("the session was made again after it was lost: reset every env (no mask)")
                self._require("reset_mask", "partial resets (reset_mask)")
                fields["mask"] = [bool(f) for f in flags]
        reply = self._request("reset", fields)
        if reply is None:  # made again: the new session must reset every env
            if "mask" in fields:
                self._pending_reset = True  # a NEXT_STEP step resets every env of the new session
                raise ServerError(
                    "UNKNOWN_ENV",
                    f"the session was lost and made again as {self.env_id}: reset every env (no mask)",
                    "reset",
                )
            reply = self.conn.request("reset", {"env_id": self.env_id, **fields})
        self._pending_reset = False
        obs = self._observations(reply)
        self._last_obs = obs.copy()
        return obs, [rename_episode(i) for i in reply["infos"]]

    def step(self, actions: Any) -> StepBatch:
        self._check_open()
        a = np.asarray(actions)
        if a.dtype != np.float32 and a.dtype != np.float64:
            a = a.astype(np.float32)
        if a.size != self._act_shape[0] * self._act_shape[1]:
            raise ValueError(f"actions must have shape {self._act_shape}, got {a.shape}")
        n = self.num_envs
        if self._pending_reset:  # NEXT_STEP after a lost session: this step resets every env
            obs, infos = self.reset(None, None)
            for info in infos:
                info["autoreset"] = True
            return StepBatch(obs, np.zeros(n), np.zeros(n, bool), np.zeros(n, bool), infos)
        reply = self._request("step", {"actions": encode_array(a.reshape(self._act_shape))})
        if reply is None:
            return self._lost_step()
        rewards = decode_array(reply["rewards"], writable=True)
        if rewards.dtype != np.float64:
            rewards = rewards.astype(np.float64)
        obs = self._observations(reply)
        self._last_obs = obs.copy()
        return StepBatch(
            observations=obs,
            rewards=rewards.reshape(n),
            terminated=decode_array(reply["terminated"]).reshape(n).astype(bool),
            truncated=decode_array(reply["truncated"]).reshape(n).astype(bool),
            infos=[rename_episode(i) for i in reply["infos"]],
        )

    def _lost_step(self) -> StepBatch:
        """The step of a session that was lost and made again: every episode is truncated."""
        n = self.num_envs
        if self._last_obs is None:  # never reset: the new session says so (ENV: step before reset)
            zeros = encode_array(np.zeros(self._act_shape, np.float32))
            reply = self.conn.request("step", {"env_id": self.env_id, "actions": zeros})
            raise ProtocolError(f"step on a session that was never reset succeeded: {reply!r}")
        last = self._last_obs.copy()
        truncated = np.ones(n, bool)
        if self.autoreset_mode == "same_step":
            obs, infos = self.reset(None, None)
            for i, info in enumerate(infos):
                info["final_observation"] = last[i]
                info["final_info"] = {"session_lost": True}
            return StepBatch(obs, np.zeros(n), np.zeros(n, bool), truncated, infos)
        self._pending_reset = True
        return StepBatch(last, np.zeros(n), np.zeros(n, bool), truncated, [{"session_lost": True} for _ in range(n)])

    def _require(self, feature: str, what: str) -> None:
        if feature not in self.features:
            raise ProtocolError(
                f"the server at {self.conn.address} ({self.hello.get('server', '?')}) does not support {what}: "
                f"it lacks the protocol feature '{feature}' (revision 2); upgrade the prop-amm gym server"
            )

    def _check_open(self) -> None:
        if not self.open:
            raise ProtocolError(f"connection to {self.conn.address} is closed")

    def close(self, timeout_s: float = 1.0) -> None:
        """Closes the session on the server: one short attempt, errors ignored, then the socket."""
        if self._finalizer.detach() is not None:
            _release(self._remote, timeout_s)
