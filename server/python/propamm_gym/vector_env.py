"""PropAmmVectorEnv: ``num_envs`` envs in one server session, stepped with one message each."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from .client import DEFAULT_ADDRESS, Connection
from .protocol import decode_array
from .env import check_render_mode
from .session import Session, env_config

_WIRE_MODES = {AutoresetMode.NEXT_STEP: "next_step", AutoresetMode.SAME_STEP: "same_step"}


def _autoreset_mode(mode: AutoresetMode | str) -> AutoresetMode:
    """AutoresetMode, its value ("NextStep") or the wire name ("next_step")."""
    for m, wire in _WIRE_MODES.items():
        if mode == m or mode == m.value or mode == wire:
            return m
    raise ValueError(f"autoreset_mode must be NEXT_STEP or SAME_STEP (got {mode!r})")


class PropAmmVectorEnv(gymnasium.vector.VectorEnv[np.ndarray, np.ndarray, np.ndarray]):
    """A Gymnasium 1.x vector env over one connection and one server session.

    ``reset(seed=s)`` seeds env i with ``s + i``; ``reset(seed=[s0, s1, ...])`` gives each env its
    own seed (``None``: that env's own stream); ``reset(options={"reset_mask": mask})`` resets only
    the envs whose mask entry is true (the others keep their episode; their rows are their latest
    observations and their infos are masked out), with Gymnasium's vector API.

    Autoreset is NEXT_STEP by default (the step after an env's episode ended resets it, ignores
    its action, returns reward 0 and marks ``infos["autoreset"]``); SAME_STEP is available too
    (``infos["final_obs"]``/``["final_info"]``).

    Infos come as Gymnasium's dict of arrays with ``_key`` masks; pass ``list_infos=True`` for
    the server's list of per-env dicts instead (cheaper with many envs). An ended episode's
    summary is ``infos["propamm_episode"]``. ``reconnect`` and the finalizer: as
    :class:`~propamm_gym.PropAmmEnv`.
    """

    metadata: dict[str, Any] = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int,
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
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        list_infos: bool = False,
        timeout_s: float = 10.0,
        retries: int = 3,
        reconnect: bool = True,
        render_mode: str | None = None,
    ) -> None:
        check_render_mode(render_mode, type(self).__name__)
        self.render_mode = None
        mode = _autoreset_mode(autoreset_mode)
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
        self.list_infos = list_infos
        conn = Connection(address, timeout_s=timeout_s, retries=retries)
        try:
            self._session = Session(conn, num_envs, self.config, _WIRE_MODES[mode], reconnect=reconnect)
        except BaseException:
            conn.close()
            raise
        self.metadata = {**type(self).metadata, "autoreset_mode": mode}
        self.server_info: dict[str, Any] = self._session.hello
        self.num_envs = self._session.num_envs
        self.single_observation_space = self._session.observation_space
        self.single_action_space = self._session.action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)

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
        self,
        *,
        seed: int | Sequence[int] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[np.ndarray, dict[str, Any]]:
        base, seeds = self._seeds(seed)
        opts = dict(options) if options is not None else {}
        mask = opts.pop("reset_mask", None)
        super().reset(seed=base if seeds is None else next((s for s in seeds if s is not None), None))
        obs, infos = self._session.reset(base, opts or None, seeds=seeds, mask=mask)
        return obs, self._infos(infos)

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        r = self._session.step(actions)
        return r.observations, r.rewards, r.terminated, r.truncated, self._infos(r.infos)

    def __enter__(self) -> PropAmmVectorEnv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close_extras(self, **kwargs: Any) -> None:
        session = getattr(self, "_session", None)
        if session is not None:
            session.close()

    def _seeds(self, seed: int | Sequence[int | None] | None) -> tuple[int | None, list[int | None] | None]:
        """An int (env i gets ``seed + i``), or a list of one seed or None per env: a consecutive
        list is sent as its first seed (every server knows that), any other as a per-env list."""
        if seed is None or isinstance(seed, (int, np.integer)):
            return (None if seed is None else int(seed)), None
        if isinstance(seed, (str, bytes)) or not isinstance(seed, (Sequence, np.ndarray)):
            raise TypeError(f"seed must be an int, a list of {self.num_envs} ints (or None) or None; got {seed!r}")
        seeds = [None if s is None else int(s) for s in seed]
        if len(seeds) != self.num_envs:
            raise ValueError(f"a seed list must hold {self.num_envs} entries (one per env), got {len(seeds)}: {seeds}")
        first = seeds[0]
        if first is not None and all(s == first + i for i, s in enumerate(seeds)):
            return first, None
        return None, seeds

    def _infos(self, infos: list[dict[str, Any]]) -> Any:
        for info in infos:
            final = info.pop("final_observation", None)
            if final is not None:  # SAME_STEP: Gymnasium calls it final_obs
                info["final_obs"] = (
                    decode_array(final, writable=True) if isinstance(final, dict) else np.asarray(final, np.float32)
                )
        return infos if self.list_infos else batch_infos(infos, self.num_envs)


def batch_infos(infos: Sequence[Mapping[str, Any]], n: int) -> dict[str, Any]:
    """Per-env info maps -> Gymnasium's vector info: ``{key: array [n], _key: bool mask [n]}``.

    Like ``VectorEnv._add_info`` but typed from all envs' values at once, so a key that is
    ``None`` in one env and a number in another (``trade_side``) becomes an object array
    instead of failing. Nested maps are batched recursively.
    """
    keys: dict[str, None] = {}
    for info in infos:
        keys.update(dict.fromkeys(info))
    out: dict[str, Any] = {}
    for key in keys:
        mask = np.array([key in info for info in infos], dtype=np.bool_)
        values = [info.get(key) for info in infos]
        present = [v for v, m in zip(values, mask) if m]
        if key != "final_obs" and all(isinstance(v, Mapping) for v in present):
            out[key] = batch_infos([v if m else {} for v, m in zip(values, mask)], n)  # type: ignore[misc]
        else:
            out[key] = _batch_values(values, mask, present, n)
        out[f"_{key}"] = mask
    return out


def _batch_values(values: list[Any], mask: np.ndarray, present: list[Any], n: int) -> np.ndarray:
    if all(isinstance(v, (bool, np.bool_)) for v in present):
        dtype: Any = np.bool_
    elif all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in present):
        dtype = np.int64
    elif all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in present):
        dtype = np.float64
    else:
        arr = np.empty(n, dtype=object)
        for i, v in enumerate(values):
            arr[i] = v
        return arr
    arr = np.zeros(n, dtype=dtype)
    arr[mask] = [v for v in present]
    return arr
