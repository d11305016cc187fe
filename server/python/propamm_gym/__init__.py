"""Python client of the prop-amm gym server (`propamm serve`): ZeroMQ + msgpack, Gymnasium API.

    from propamm_gym import PropAmmEnv, PropAmmVectorEnv

    env = PropAmmEnv("tcp://127.0.0.1:5555", opponents=["starter"], sim={"steps": 2000})
    obs, info = env.reset(seed=1)
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())

Several agents (PettingZoo): ``AECEnv(lineup=[{"agent": "a"}, "starter", {"agent": "b"}])`` and
``ParallelEnv(agents=3, opponents=["starter"])``.

The wire format is docs/protocol.md of the prop-amm gym repository.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gymnasium

from .client import DEFAULT_ADDRESS, Connection
from .env import ENV_ID, PropAmmEnv, RenderModeError
from .protocol import (
    ERROR_CODES,
    PROTOCOL_VERSION,
    PropAmmError,
    ProtocolError,
    ServerError,
    ServerUnavailableError,
    decode_array,
    encode_array,
)
from .sb3 import PropAmmSB3VecEnv
from .session import EPISODE_KEY
from .vector_env import PropAmmVectorEnv

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_ADDRESS",
    "ENV_ID",
    "EPISODE_KEY",
    "ERROR_CODES",
    "PROTOCOL_VERSION",
    "AECEnv",
    "Connection",
    "ParallelEnv",
    "PropAmmEnv",
    "PropAmmError",
    "PropAmmSB3VecEnv",
    "PropAmmVectorEnv",
    "ProtocolError",
    "RenderModeError",
    "ServerError",
    "ServerUnavailableError",
    "decode_array",
    "encode_array",
]

if TYPE_CHECKING:
    from .multi_agent import AECEnv, ParallelEnv


def __getattr__(name: str) -> Any:
    # The PettingZoo envs are imported on first use: importing pettingzoo takes about a second,
    # which single-agent users (and processes that only make a session) should not pay.
    if name in ("AECEnv", "ParallelEnv"):
        from . import multi_agent

        return getattr(multi_agent, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if ENV_ID not in gymnasium.registry:
    # gymnasium.make("propamm_gym/PropAmm-v0", address=..., opponents=[...])
    gymnasium.register(id=ENV_ID, entry_point="propamm_gym.env:PropAmmEnv")
