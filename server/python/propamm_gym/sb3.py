"""PropAmmSB3VecEnv: the prop-amm gym as a Stable-Baselines3 ``VecEnv``.

SB3's ``VecEnv`` contract, implemented by duck typing: ``reset()`` returns the observations only
(``reset_infos`` holds the infos), ``step_async``/``step_wait`` (or ``step``) return
``(obs, rewards, dones, infos)`` with a list of per-env info dicts, an env whose episode ended is
reset in the same step (its last observation is ``infos[i]["terminal_observation"]``, and
``infos[i]["TimeLimit.truncated"]`` says whether it was cut short), ``seed``/``set_options``
apply to the next ``reset``, and ``get_attr``/``set_attr``/``env_method``/``env_is_wrapped``/
``close``, ``num_envs``, ``observation_space``/``action_space`` (one env's) are there. When
``stable_baselines3`` is importable the class also subclasses its ``VecEnv``, so
``isinstance(env, VecEnv)`` holds and SB3's wrappers (``VecMonitor``, ``VecNormalize``) take it::

    from propamm_gym import PropAmmSB3VecEnv
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import VecMonitor

    venv = VecMonitor(PropAmmSB3VecEnv(8, "tcp://127.0.0.1:5555", opponents=["starter"]))
    PPO("MlpPolicy", venv).learn(100_000)

All envs live in one server session (a :class:`~propamm_gym.PropAmmVectorEnv` with SAME_STEP
autoreset): attributes and methods are that vector env's, shared by every index.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import gymnasium
import numpy as np

from .client import DEFAULT_ADDRESS
from .vector_env import PropAmmVectorEnv

try:  # pragma: no cover - depends on what is installed
    from stable_baselines3.common.vec_env import VecEnv as _SB3VecEnv

    HAVE_SB3 = True
    _Base: Any = _SB3VecEnv
except ImportError:  # SB3 absent: the same interface, by duck typing
    HAVE_SB3 = False
    _Base = object

class PropAmmSB3VecEnv(_Base):  # type: ignore[misc]
    """``num_envs`` prop-amm gym envs in one server session, with SB3's ``VecEnv`` interface.

    Args:
        num_envs: environments in the session.
        address: the server's endpoint.
        **env_kwargs: the :class:`~propamm_gym.PropAmmVectorEnv` options (``opponents``,
            ``decision_interval``, ``sim``, ``timeout_s``, ``reconnect``, ...); not
            ``autoreset_mode`` or ``list_infos``, which this adapter sets.
    """

    def __init__(self, num_envs: int, address: str = DEFAULT_ADDRESS, **env_kwargs: Any) -> None:
        for key in ("autoreset_mode", "list_infos"):
            if key in env_kwargs:
                raise TypeError(f"PropAmmSB3VecEnv sets {key} itself (SB3 resets an ended env within its step)")
        self.venv = PropAmmVectorEnv(num_envs, address, autoreset_mode="same_step", list_infos=True, **env_kwargs)
        n = self.venv.num_envs
        obs_space: gymnasium.spaces.Box = self.venv.single_observation_space
        act_space: gymnasium.spaces.Box = self.venv.single_action_space
        if HAVE_SB3:
            _Base.__init__(self, n, obs_space, act_space)
        else:
            self.num_envs = n
            self.observation_space = obs_space
            self.action_space = act_space
            self.reset_infos: list[dict[str, Any]] = [{} for _ in range(n)]
            self._seeds: list[int | None] = [None] * n
            self._options: list[dict[str, Any]] = [{} for _ in range(n)]
            self.render_mode: str | None = None
            self.metadata: dict[str, Any] = {"render_modes": []}
        self._actions: np.ndarray | None = None
        self.closed = False

    # -- the VecEnv methods ---------------------------------------------------------------------

    def reset(self) -> np.ndarray:
        """Resets every env with the seeds and options set since the last reset; returns obs only."""
        seeds = list(self._seeds)
        options = self._options[0] if self._options else {}
        if any(o != options for o in self._options):
            raise ValueError("the envs share one session: set_options must give every env the same options")
        obs, infos = self.venv.reset(seed=None if all(s is None for s in seeds) else seeds, options=options or None)
        self.reset_infos = list(infos)
        self._seeds = [None] * self.num_envs
        self._options = [{} for _ in range(self.num_envs)]
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        if self._actions is None:
            raise RuntimeError("step_wait() without step_async()")
        actions, self._actions = self._actions, None
        obs, rewards, terminated, truncated, infos = self.venv.step(actions)
        dones = terminated | truncated
        out: list[dict[str, Any]] = []
        for i, info in enumerate(infos):
            if not dones[i]:
                out.append(info)
                continue
            # SAME_STEP: obs[i] and info already belong to the next episode; SB3 wants the ended
            # episode's info, its last observation, and the new episode's info in reset_infos.
            final_obs = info.pop("final_obs", None)
            final_info = dict(info.pop("final_info", None) or {})
            self.reset_infos[i] = info
            final_info["terminal_observation"] = final_obs
            final_info["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
            out.append(final_info)
        return obs, rewards.astype(np.float32), dones, out

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        self.step_async(actions)
        return self.step_wait()

    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        """Seeds for the next reset: env i gets ``seed + i`` (a random base when None)."""
        if seed is None:
            seed = int(np.random.randint(0, 2**31 - 1, dtype=np.int64))
        self._seeds = [int(seed) + i for i in range(self.num_envs)]
        return list(self._seeds)

    def set_options(self, options: list[dict[str, Any]] | dict[str, Any] | None = None) -> None:
        if options is None:
            options = {}
        self._options = copy.deepcopy(options if isinstance(options, list) else [options] * self.num_envs)

    def close(self) -> None:
        self.venv.close()
        self.closed = True

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        """The attribute of the shared vector env (or of this adapter), once per index."""
        target: Any = self if attr_name in ("render_mode", "metadata") else self.venv
        value = getattr(target, attr_name)
        return [value for _ in self._indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        """Sets the attribute on the shared vector env (every index sees it)."""
        self._indices(indices)
        setattr(self.venv, attr_name, value)

    def env_method(self, method_name: str, *method_args: Any, indices: Any = None, **method_kwargs: Any) -> list[Any]:
        """Calls the shared vector env's method once; its result is repeated per index."""
        result = getattr(self.venv, method_name)(*method_args, **method_kwargs)
        return [result for _ in self._indices(indices)]

    def env_is_wrapped(self, wrapper_class: type, indices: Any = None) -> list[bool]:
        return [False for _ in self._indices(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [None for _ in range(self.num_envs)]

    def render(self, mode: str | None = None) -> np.ndarray | None:
        return None

    @property
    def unwrapped(self) -> PropAmmSB3VecEnv:
        return self

    def getattr_depth_check(self, name: str, already_found: bool) -> str | None:
        if hasattr(self, name) and already_found:
            return f"{type(self).__module__}.{type(self).__name__}"
        return None

    def __enter__(self) -> PropAmmSB3VecEnv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _indices(self, indices: Any) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        idx = [int(indices)] if isinstance(indices, (int, np.integer)) else [int(i) for i in indices]
        bad = [i for i in idx if not 0 <= i < self.num_envs]
        if bad:
            raise IndexError(f"env indices {bad} out of range for {self.num_envs} envs")
        return idx

__all__ = ["HAVE_SB3", "PropAmmSB3VecEnv"]
