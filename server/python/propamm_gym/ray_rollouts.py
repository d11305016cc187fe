"""Rollout collection on Ray: actors that each own a ``propamm serve`` process (the ``ray`` extra).

    import ray
    from propamm_gym.ray_rollouts import RolloutCollector

    ray.init()  # or ray.init(address="auto") on a cluster started with `ray start`
    with RolloutCollector(num_actors=2, envs_per_actor=8, seed=0, opponents=["starter"]) as collector:
        batch = collector.collect(64, weights=[w1, b1, w2, b2])  # arrays [64, 16, ...]
        ...  # learn, then collect again with the new weights

Each actor starts its own server (``node dist/cli/main.js serve`` on a private ipc:// endpoint,
in its own process group), makes one vector session of ``envs_per_actor`` envs (SAME_STEP
autoreset, so every transition is a real one) and keeps its episodes going from one ``rollout``
to the next. Actor ``i`` seeds env ``j`` with ``seed + i * envs_per_actor + j``: the gathered
batch (actors side by side on the env axis) equals one bare :class:`~propamm_gym.PropAmmVectorEnv`
of ``num_actors * envs_per_actor`` envs reset with ``seed`` and stepped with the same actions.

The server dies with its actor: it is killed (process group) by ``close()``, when the actor is
garbage-collected or its process exits, and by the kernel (``PR_SET_PDEATHSIG``, Linux) when the
actor's process is killed outright (``ray.kill``, a crash; Ray's raylet also kills a dead
worker's child processes by default, but the server does not rely on it).
"""

from __future__ import annotations

import atexit
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Callable, Optional, Union, cast

import gymnasium
import numpy as np

from .client import Connection
from .protocol import ServerUnavailableError
from .vector_env import PropAmmVectorEnv

#: A policy: observations [n, obs] -> actions [n, act] (any array-like). Pickled to the actors.
Policy = Callable[[np.ndarray], Any]


def find_cli() -> list[str]:
    """The command that runs the prop-amm CLI: ``$PROPAMM_CLI`` (a path to ``dist/cli/main.js``),
    else this repository's ``dist/cli/main.js`` (an editable install), else ``propamm`` on PATH."""
    env = os.environ.get("PROPAMM_CLI")
    if env:
        return ["node", env] if env.endswith(".js") else [env]
    repo_js = Path(__file__).resolve().parents[3] / "dist" / "cli" / "main.js"
    if repo_js.exists():
        return ["node", str(repo_js)]
    exe = shutil.which("propamm")
    if exe:
        return [exe]
    raise FileNotFoundError(
        "cannot find the prop-amm CLI: set PROPAMM_CLI to dist/cli/main.js of a built checkout "
        "(`npm run build`), or install the npm package so that `propamm` is on PATH"
    )


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL it when the process that started it dies (Linux)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass  # not Linux: close() and the exit hook still stop the server


def _kill_group(proc: subprocess.Popen[bytes], timeout_s: float = 5.0) -> None:
    """SIGTERM to the server's process group, SIGKILL if it has not exited within ``timeout_s``."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout_s)
        except ProcessLookupError:
            pass
    if proc.poll() is None:  # pragma: no cover - the group is gone but the leader is not reaped
        proc.wait(timeout_s)


class ServeProcess:
    """``propamm serve --bind <endpoint>`` in its own process group; ready once it answers a ping.

    On Linux the server gets ``PR_SET_PDEATHSIG``: the kernel kills it when the *thread* that
    started it exits, so start it from a thread that lives as long as the server should (the main
    thread, or a Ray actor's, as :class:`RolloutWorker` does)."""

    def __init__(
        self,
        cli: Sequence[str] | None = None,
        *,
        address: str | None = None,
        args: Sequence[str] = (),
        startup_s: float = 60.0,
    ) -> None:
        cmd = list(cli) if cli is not None else find_cli()
        if address is None:
            address = f"ipc://{tempfile.gettempdir()}/propamm-{os.getpid()}-{uuid.uuid4().hex[:8]}.sock"
        self.address = address
        self._log = tempfile.TemporaryFile()
        self.proc: subprocess.Popen[bytes] = subprocess.Popen(
            [*cmd, "serve", "--bind", address, *args],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killpg reaches everything it started
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        atexit.register(self.stop)
        deadline = time.monotonic() + startup_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"`propamm serve` exited with {self.proc.returncode}:\n{self.output()}")
            try:
                with Connection(address, timeout_s=0.5, retries=1) as c:
                    c.ping()
                return
            except ServerUnavailableError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"`propamm serve` did not answer at {address} within {startup_s} s") from None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def stop(self) -> None:
        """Kills the server's process group (SIGTERM, then SIGKILL); idempotent."""
        _kill_group(self.proc)
        atexit.unregister(self.stop)
        if self.address.startswith("ipc://"):
            try:
                os.unlink(self.address[len("ipc://") :])
            except OSError:
                pass


class MLPPolicy:
    """A deterministic MLP from ``weights = [W1, b1, W2, b2, ...]`` (``W`` is [in, out]): tanh on
    the hidden layers and on the output, so actions are in [-1, 1]. Row by row: env i's action
    depends on env i's observation only."""

    def __init__(self, weights: Sequence[Any]) -> None:
        if len(weights) == 0 or len(weights) % 2:
            raise ValueError(f"weights must be [W1, b1, W2, b2, ...] (pairs), got {len(weights)} arrays")
        self.layers = [
            (np.asarray(weights[i], np.float64), np.asarray(weights[i + 1], np.float64))
            for i in range(0, len(weights), 2)
        ]

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        x = np.asarray(obs, np.float64)
        for w, b in self.layers:
            x = np.tanh(x @ w + b)
        return x.astype(np.float32)


@dataclass
class RolloutBatch:
    """``T`` steps of ``n`` envs. Row ``t`` is the transition (observations[t], actions[t]) ->
    (rewards[t], next_observations[t]); when an episode ended at ``t`` (terminated or truncated),
    next_observations[t] is its final observation and observations[t + 1] the new episode's first."""

    observations: np.ndarray  # float32 [T, n, obs]
    actions: np.ndarray  # float32 [T, n, act]
    rewards: np.ndarray  # float64 [T, n]
    terminated: np.ndarray  # bool [T, n]
    truncated: np.ndarray  # bool [T, n]
    next_observations: np.ndarray  # float32 [T, n, obs]

    @property
    def dones(self) -> np.ndarray:
        dones: np.ndarray = self.terminated | self.truncated
        return dones

    @property
    def num_transitions(self) -> int:
        return int(self.rewards.size)

    @staticmethod
    def concatenate(batches: Sequence[RolloutBatch]) -> RolloutBatch:
        """Batches of the same ``T`` side by side on the env axis (axis 1)."""
        return RolloutBatch(
            **{f.name: np.concatenate([getattr(b, f.name) for b in batches], axis=1) for f in fields(RolloutBatch)}
        )


class RolloutWorker:
    """Owns a ``propamm serve`` process and one vector session on it; collects rollouts.

    A plain class (usable without Ray); :func:`remote_worker_class` makes it a Ray actor. Env ``j``
    is seeded ``seed + j``; the actions of the default random policy come from
    ``numpy.random.default_rng(seed)``.
    """

    def __init__(
        self,
        num_envs: int,
        *,
        seed: int = 0,
        cli: Sequence[str] | None = None,
        server_args: Sequence[str] = (),
        **env_kwargs: Any,
    ) -> None:
        self.server = ServeProcess(cli, args=server_args)
        try:
            self.envs = PropAmmVectorEnv(
                num_envs, self.server.address, autoreset_mode="same_step", list_infos=True, **env_kwargs
            )
        except BaseException:
            self.server.stop()
            raise
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        self._obs: np.ndarray | None = None

    def server_pid(self) -> int:
        return self.server.pid

    def reset(self, seed: int | None = None) -> np.ndarray:
        """Resets every env (env j: ``seed + j``; None: the worker's seed); the next rollout starts there."""
        self._obs, _ = self.envs.reset(seed=self.seed if seed is None else int(seed))
        return self._obs

    def rollout(
        self,
        num_steps: int,
        *,
        weights: Sequence[Any] | None = None,
        policy: Policy | None = None,
        actions: np.ndarray | None = None,
    ) -> RolloutBatch:
        """``num_steps`` steps of every env, continuing the episodes of the previous call (the first
        call resets with the worker's seed). Actions: ``actions`` [T, n, act] as given, else
        ``policy(obs)``, else :class:`MLPPolicy` of ``weights``, else uniform random."""
        if sum(x is not None for x in (weights, policy, actions)) > 1:
            raise ValueError("give at most one of weights, policy and actions")
        if weights is not None:
            policy = MLPPolicy(weights)
        if self._obs is None:
            self.reset()
        assert self._obs is not None
        n = self.envs.num_envs
        space = self.envs.single_action_space
        assert isinstance(space, gymnasium.spaces.Box)
        obs_shape, act_shape = self._obs.shape[1:], space.shape
        out_obs = np.empty((num_steps, n, *obs_shape), np.float32)
        out_next = np.empty_like(out_obs)
        out_act = np.empty((num_steps, n, *act_shape), np.float32)
        out_rew = np.empty((num_steps, n), np.float64)
        out_term = np.empty((num_steps, n), bool)
        out_trunc = np.empty((num_steps, n), bool)
        if actions is not None:
            actions = np.asarray(actions, np.float32)
            if actions.shape != out_act.shape:
                raise ValueError(f"actions must have shape {out_act.shape}, got {actions.shape}")
        obs = self._obs
        for t in range(num_steps):
            if actions is not None:
                a = actions[t]
            elif policy is not None:
                a = np.asarray(policy(obs), np.float32).reshape(n, *act_shape)
            else:
                a = self.rng.uniform(space.low, space.high, size=(n, *act_shape)).astype(np.float32)
            out_obs[t] = obs
            out_act[t] = a
            obs, rew, term, trunc, step_infos = self.envs.step(a)
            infos = cast(list[dict[str, Any]], step_infos)  # list_infos=True
            out_rew[t], out_term[t], out_trunc[t] = rew, term, trunc
            out_next[t] = obs
            for i in np.flatnonzero(term | trunc):
                out_next[t, i] = infos[i]["final_obs"]
        self._obs = obs
        return RolloutBatch(out_obs, out_act, out_rew, out_term, out_trunc, out_next)

    def close(self) -> None:
        """Closes the session and kills the server; idempotent."""
        envs = getattr(self, "envs", None)
        if envs is not None:
            envs.close()
        server = getattr(self, "server", None)
        if server is not None:
            server.stop()

    def __del__(self) -> None:
        self.close()


def remote_worker_class(**actor_options: Any) -> Any:
    """:class:`RolloutWorker` as a Ray actor class (``ray.remote(**actor_options)``; 1 CPU by default)."""
    import ray

    return ray.remote(**{"num_cpus": 1, **actor_options})(RolloutWorker)


PolicyArg = Optional[Union[Sequence[Any], Policy]]


class RolloutCollector:
    """The learner's side: ``num_actors`` :class:`RolloutWorker` actors of ``envs_per_actor`` envs.

    :meth:`collect` sends the policy (weights are put in the object store once, for all actors),
    runs every actor's rollout in parallel and gathers one :class:`RolloutBatch` of
    ``num_actors * envs_per_actor`` envs. ``ray.init`` must have been called (a local cluster, or
    ``ray.init(address="auto")`` on a node of a cluster). ``actor_options`` go to
    ``ray.remote`` (``num_cpus``, ``resources``, ``scheduling_strategy`` ...).
    """

    def __init__(
        self,
        num_actors: int,
        envs_per_actor: int,
        *,
        seed: int = 0,
        cli: Sequence[str] | None = None,
        server_args: Sequence[str] = (),
        actor_options: Mapping[str, Any] | None = None,
        **env_kwargs: Any,
    ) -> None:
        import ray

        self._ray = ray
        cls = remote_worker_class(**dict(actor_options or {}))
        self.envs_per_actor = int(envs_per_actor)
        self.actors = [
            cls.remote(
                self.envs_per_actor, seed=seed + i * self.envs_per_actor, cli=cli, server_args=server_args, **env_kwargs
            )
            for i in range(num_actors)
        ]
        try:
            self.server_pids: list[int] = ray.get([a.server_pid.remote() for a in self.actors])
        except BaseException:
            self.close()
            raise

    @property
    def num_envs(self) -> int:
        return len(self.actors) * self.envs_per_actor

    def reset(self, seed: int) -> np.ndarray:
        """Resets every env: env k of the whole batch gets ``seed + k``."""
        parts = self._ray.get([a.reset.remote(seed + i * self.envs_per_actor) for i, a in enumerate(self.actors)])
        return np.concatenate(parts, axis=0)

    def collect(
        self,
        num_steps: int,
        *,
        weights: Sequence[Any] | None = None,
        policy: Policy | None = None,
    ) -> RolloutBatch:
        """``num_steps`` steps of every actor's envs, gathered on the env axis ([T, num_envs, ...])."""
        ray = self._ray
        kw: dict[str, Any] = {}
        if weights is not None:
            kw["weights"] = ray.put([np.asarray(w) for w in weights])
        if policy is not None:
            kw["policy"] = ray.put(policy)
        batches = ray.get([a.rollout.remote(num_steps, **kw) for a in self.actors])
        return RolloutBatch.concatenate(batches)

    def close(self) -> None:
        """Stops every actor's server, then the actors."""
        ray = self._ray
        actors, self.actors = self.actors, []
        try:
            ray.get([a.close.remote() for a in actors], timeout=30)
        except Exception:
            pass  # an actor already dead: its server died with it (PR_SET_PDEATHSIG)
        for a in actors:
            ray.kill(a)

    def __enter__(self) -> RolloutCollector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
