"""PettingZoo envs over a multi-agent session of ``propamm serve`` (protocol revision 3).

Several strategy pools of one simulation are controlled by agents; each decides at its own
decision events (reset, after one of its trades once ``decision_interval`` steps have passed,
every epoch boundary), exactly as :class:`~propamm_gym.PropAmmEnv`'s single agent does.

- :class:`AECEnv` (``pettingzoo.AECEnv``): one agent is selected at a time, the one whose
  decision is due; ``last()`` gives it its reward since its previous decision.
- :class:`ParallelEnv` (``pettingzoo.ParallelEnv``): a step takes the actions of the agents
  whose decision is due (``acting_agents``; every info carries ``acting``) and returns every
  live agent's observation, reward over the step, flags and info.

The server holds the env (gym/multi-agent-env.ts); these classes mirror its state. With
``reconnect`` (the default), a session the server no longer knows (``UNKNOWN_ENV``: the server
restarted, or freed or evicted the session) is made again with the same line-up and config: a
``reset`` is sent again transparently; a ``step`` ends the episode for every live agent
(truncated, reward 0, ``info["session_lost"]``), as :class:`~propamm_gym.PropAmmEnv` does.
"""

from __future__ import annotations

import functools
import warnings
import weakref
from collections.abc import Mapping, Sequence
from typing import Any, Union

import gymnasium
import numpy as np
import pettingzoo

from .client import DEFAULT_ADDRESS, Connection
from .env import check_render_mode
from .protocol import ProtocolError, ServerError, decode_array, encode_array
from .session import _release, _Remote, box_from_json, env_config, log, rename_episode

#: A line-up entry: an opponent's built-in name, or ``{"agent": id}`` for a pool an agent controls.
LineupEntry = Union[str, Mapping[str, str]]

FEATURE = "multi_agent"


def make_lineup(
    lineup: Sequence[LineupEntry] | None, agents: int | Sequence[str] | None, opponents: Sequence[str] | None
) -> list[Any]:
    """The wire line-up: ``lineup`` as given, or ``agents`` (a count or ids) followed by ``opponents``."""
    if lineup is not None:
        if agents is not None or opponents is not None:
            raise ValueError("give lineup, or agents (and opponents), not both")
        out: list[Any] = []
        for i, e in enumerate(lineup):
            if isinstance(e, str):
                out.append(e)
            elif isinstance(e, Mapping):
                out.append(dict(e))
            else:
                raise TypeError(f"lineup[{i}] must be a strategy name or {{'agent': id}}, got {e!r}")
        return out
    if agents is None:
        agents = 2
    ids = [f"agent_{i}" for i in range(agents)] if isinstance(agents, int) else [str(a) for a in agents]
    if isinstance(opponents, str):
        opponents = [opponents]
    return [{"agent": a} for a in ids] + list(opponents or [])


def _reset_options(options: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Only ``market`` goes to the server; other keys are ignored with a warning (pettingzoo's
    api tests pass ``{"options": 1}``)."""
    if options is None:
        return None
    unknown = [k for k in options if k != "market"]
    if unknown:
        warnings.warn(f"reset options {unknown} ignored: the env knows only 'market'", stacklevel=3)
    return {"market": dict(options["market"])} if "market" in options else None


class _MultiSession:
    """A multi-agent session: ``make`` with a line-up, then ``reset``/``step`` replies as dicts."""

    def __init__(
        self, conn: Connection, api: str, lineup: list[Any], config: Mapping[str, Any], *, reconnect: bool = True
    ) -> None:
        self.conn = conn
        self.api = api
        self.lineup = lineup
        self.config = dict(config)
        self.reconnect = reconnect
        self.recreated = 0
        self._make()
        self._remote = _Remote(conn, self.env_id)
        self._finalizer = weakref.finalize(self, _release, self._remote, 1.0)

    def _make(self) -> None:
        self.hello = self.conn.hello()
        if FEATURE not in self.hello.get("features", ()):
            raise ProtocolError(
                f"the server at {self.conn.address} ({self.hello.get('server', '?')}) has no multi-agent sessions: "
                f"it lacks the protocol feature '{FEATURE}' (revision 3); upgrade the prop-amm gym server"
            )
        reply = self.conn.request("make", {"lineup": self.lineup, "api": self.api, "config": self.config})
        self.env_id: str = reply["env_id"]
        self.possible_agents: list[str] = [str(a) for a in reply["possible_agents"]]
        self.observation_space = box_from_json(reply["observation_space"])
        self.action_space = box_from_json(reply["action_space"])

    def request(self, cmd: str, fields: dict[str, Any]) -> dict[str, Any] | None:
        """The request on this session; None when the session was lost and has just been made again."""
        if not self._finalizer.alive:
            raise ProtocolError(f"connection to {self.conn.address} is closed")
        try:
            return self.conn.request(cmd, {"env_id": self.env_id, **fields})
        except ServerError as e:
            if e.code != "UNKNOWN_ENV" or not self.reconnect:
                raise
        old = self.env_id
        self._make()
        self._remote.env_id = self.env_id
        self.recreated += 1
        log.warning(
            "prop-amm gym multi-agent session %s is gone from %s (server restarted, or the session was freed); "
            "made %s with the same line-up and config",
            old,
            self.conn.address,
            self.env_id,
        )
        return None

    def reset(self, fields: dict[str, Any]) -> dict[str, Any]:
        """``reset``, sent again on the new session when the old one was lost."""
        reply = self.request("reset", fields)
        if reply is None:
            reply = self.request("reset", fields)
        if reply is None:
            raise ServerError("UNKNOWN_ENV", f"the session was lost twice in a row ({self.env_id})", "reset")
        return reply

    def close(self) -> None:
        if self._finalizer.detach() is not None:
            _release(self._remote, 1.0)


def _observations(reply: Mapping[str, Any]) -> dict[str, np.ndarray]:
    return {str(a): decode_array(o, writable=True) for a, o in reply["observations"].items()}


def _floats(m: Mapping[str, Any]) -> dict[str, float]:
    return {str(a): float(x) for a, x in m.items()}


def _bools(m: Mapping[str, Any]) -> dict[str, bool]:
    return {str(a): bool(x) for a, x in m.items()}


def _infos(m: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(a): rename_episode(dict(i)) for a, i in m.items()}


def _action_wire(action: Any) -> dict[str, Any] | None:
    if action is None:
        return None
    a = np.asarray(action)
    if a.dtype != np.float32 and a.dtype != np.float64:
        a = a.astype(np.float64)
    return encode_array(a.reshape(-1))


class _Common:
    """Constructor arguments and spaces shared by both envs."""

    _session: _MultiSession

    def _open(
        self,
        api: str,
        address: str,
        lineup: Sequence[LineupEntry] | None,
        agents: int | Sequence[str] | None,
        opponents: Sequence[str] | None,
        config: dict[str, Any],
        timeout_s: float,
        retries: int,
        reconnect: bool,
    ) -> None:
        self.lineup = make_lineup(lineup, agents, opponents)
        self.config = config
        conn = Connection(address, timeout_s=timeout_s, retries=retries)
        try:
            self._session = _MultiSession(conn, api, self.lineup, config, reconnect=reconnect)
        except BaseException:
            conn.close()
            raise
        self.server_info: dict[str, Any] = self._session.hello
        self.possible_agents = list(self._session.possible_agents)
        self.agents: list[str] = []
        # One space object per agent (seeding one agent's space leaves the others' alone).
        obs, act = self._session.observation_space, self._session.action_space
        self.observation_spaces = {
            a: gymnasium.spaces.Box(low=obs.low, high=obs.high, dtype=np.float32) for a in self.possible_agents
        }
        self.action_spaces = {
            a: gymnasium.spaces.Box(low=act.low, high=act.high, dtype=np.float32) for a in self.possible_agents
        }

    @property
    def env_id(self) -> str:
        return self._session.env_id

    @property
    def recreated(self) -> int:
        """How many times the session was made again after the server lost it (``reconnect``)."""
        return self._session.recreated

    @functools.cache  # noqa: B019 - one space object per agent, as pettingzoo asks
    def observation_space(self, agent: str) -> gymnasium.spaces.Space[Any]:
        return self.observation_spaces[agent]

    @functools.cache  # noqa: B019
    def action_space(self, agent: str) -> gymnasium.spaces.Space[Any]:
        return self.action_spaces[agent]


_DOC_ARGS = """
    Args:
        address: the server's endpoint.
        lineup: the strategy pools in pool order: ``{"agent": id}`` for a pool an agent
            controls, a built-in strategy name for an opponent (the normalizer comes last).
        agents, opponents: instead of ``lineup``: ``agents`` (a count, ids ``agent_0``...; or a
            list of ids) first, then ``opponents``. Default: two agents, no opponent.
        decision_interval, observation, reward_mode, reward_baseline, risk_penalty, reward_scale, fee_min_bps, fee_max_bps, sim:
            the env config, as :class:`~propamm_gym.PropAmmEnv` takes it.
        timeout_s, retries: per-request timeout and attempts in all.
        reconnect: make the session again when the server no longer knows it (it restarted):
            a reset is sent again; a step ends the episode for every live agent (truncated,
            reward 0, ``info["session_lost"]``). False: raise the server's ``UNKNOWN_ENV``.
"""


class AECEnv(_Common, pettingzoo.AECEnv):  # type: ignore[misc]
    """The multi-agent env with PettingZoo's AEC API (docs/gym.md, "Multi-agent")."""

    __doc__ = (__doc__ or "") + _DOC_ARGS
    metadata: dict[str, Any] = {"name": "propamm_aec_v0", "render_modes": [], "is_parallelizable": True}

    def __init__(
        self,
        address: str = DEFAULT_ADDRESS,
        *,
        lineup: Sequence[LineupEntry] | None = None,
        agents: int | Sequence[str] | None = None,
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
        super().__init__()
        check_render_mode(render_mode, type(self).__name__)
        self.render_mode = None
        config = env_config(
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
        self._open("aec", address, lineup, agents, opponents, config, timeout_s, retries, reconnect)
        self.rewards: dict[str, float] = {}
        self._cumulative_rewards: dict[str, float] = {}
        self.terminations: dict[str, bool] = {}
        self.truncations: dict[str, bool] = {}
        self.infos: dict[str, dict[str, Any]] = {}
        self._obs: dict[str, np.ndarray] = {}
        self.agent_selection = ""
        # The session was lost mid-episode: every agent is truncated and leaves with step(None).
        self._lost = False

    def _apply(self, reply: Mapping[str, Any]) -> None:
        self.agents = [str(a) for a in reply["agents"]]
        self.agent_selection = str(reply["agent_selection"])
        self._obs = _observations(reply)
        self.rewards = _floats(reply["rewards"])
        self._cumulative_rewards = _floats(reply["cumulative_rewards"])
        self.terminations = _bools(reply["terminations"])
        self.truncations = _bools(reply["truncations"])
        self.infos = _infos(reply["infos"])

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        """Starts an episode on simulation seed ``seed`` (None: the next one from the env's stream)."""
        fields = {"seed": None if seed is None else int(seed), "options": _reset_options(options)}
        self._apply(self._session.reset(fields))
        self._lost = False

    def observe(self, agent: str) -> np.ndarray:
        return self._obs[agent].copy()

    def step(self, action: Any) -> None:
        """The selected agent's action (2 values in [-1, 1]); None for a finished agent, which leaves."""
        if self._lost:
            self._leave(action)
            return
        reply = self._session.request("step", {"agent": self.agent_selection or None, "action": _action_wire(action)})
        if reply is None:  # the session was made again: this episode is over for everyone
            self._lost = True
            self.rewards = {a: 0.0 for a in self.agents}
            self._cumulative_rewards = {a: 0.0 for a in self.agents}
            self.terminations = {a: False for a in self.agents}
            self.truncations = {a: True for a in self.agents}
            self.infos = {a: {"session_lost": True} for a in self.agents}
            return
        self._apply(reply)

    def _leave(self, action: Any) -> None:
        """A truncated agent of a lost session leaves (as pettingzoo's dead step); the next one is selected."""
        if action is not None:
            raise ValueError(
                f"the session was lost and every agent is truncated: step({self.agent_selection!r}) takes None"
            )
        agent = self.agent_selection
        self.agents = [a for a in self.agents if a != agent]
        for d in (self.rewards, self._cumulative_rewards, self.terminations, self.truncations, self.infos):
            d.pop(agent, None)
        self.agent_selection = self.agents[0] if self.agents else ""

    def close(self) -> None:
        session = getattr(self, "_session", None)
        if session is not None:
            session.close()


class ParallelEnv(_Common, pettingzoo.ParallelEnv):  # type: ignore[misc]
    """The multi-agent env with PettingZoo's Parallel API (docs/gym.md, "Multi-agent").

    ``step(actions)`` uses the actions of ``acting_agents`` (all agents after reset, then the
    agent whose decision is due); the actions of other live agents are ignored (their fees change
    only at their own decisions). Every returned dict has every live agent; ``infos[a]["acting"]``
    says whether the next step uses ``a``'s action. After the last step ``agents`` is empty.
    """

    __doc__ = (__doc__ or "") + _DOC_ARGS
    metadata: dict[str, Any] = {"name": "propamm_parallel_v0", "render_modes": []}

    def __init__(
        self,
        address: str = DEFAULT_ADDRESS,
        *,
        lineup: Sequence[LineupEntry] | None = None,
        agents: int | Sequence[str] | None = None,
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
        config = env_config(
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
        self._open("parallel", address, lineup, agents, opponents, config, timeout_s, retries, reconnect)
        self.acting_agents: list[str] = []
        self._last_obs: dict[str, np.ndarray] = {}

    def _infos(self, reply: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        self.agents = [str(a) for a in reply["agents"]]
        self.acting_agents = [str(a) for a in reply["acting"]]
        infos = _infos(reply["infos"])
        for a, info in infos.items():
            info["acting"] = a in self.acting_agents
        return infos

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
        fields = {"seed": None if seed is None else int(seed), "options": _reset_options(options)}
        reply = self._session.reset(fields)
        infos = self._infos(reply)
        self._last_obs = _observations(reply)
        return {a: o.copy() for a, o in self._last_obs.items()}, infos

    def step(
        self, actions: Mapping[str, Any]
    ) -> tuple[
        dict[str, np.ndarray],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        wire = {a: _action_wire(actions.get(a)) for a in self.acting_agents}
        reply = self._session.request("step", {"actions": wire})
        if reply is None:  # the session was made again: the episode ends for every live agent
            lost = list(self.agents)
            self.agents = []
            self.acting_agents = []
            return (
                {a: self._last_obs[a].copy() for a in lost},
                {a: 0.0 for a in lost},
                {a: False for a in lost},
                {a: True for a in lost},
                {a: {"session_lost": True, "acting": False} for a in lost},
            )
        infos = self._infos(reply)
        self._last_obs = _observations(reply)
        return (
            {a: o.copy() for a, o in self._last_obs.items()},
            _floats(reply["rewards"]),
            _bools(reply["terminations"]),
            _bools(reply["truncations"]),
            infos,
        )

    def close(self) -> None:
        session = getattr(self, "_session", None)
        if session is not None:
            session.close()
