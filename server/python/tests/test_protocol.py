"""The wire protocol on raw sockets: arrays, retried ids, and a fuzz run of malformed messages."""

from __future__ import annotations

import random
import time
from collections.abc import Set
from typing import Any, Callable, Union

import msgpack
import numpy as np
import pytest
import zmq
from conftest import ENV_KW, ServerProcess

from propamm_gym import ERROR_CODES, PropAmmVectorEnv, ProtocolError, ServerError, decode_array, encode_array

MAP_OR_EXT_MARKERS = set(range(0x80, 0x90)) | {0xDE, 0xDF, 0xC7, 0xC8, 0xC9, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8}


def pack(x: Any) -> bytes:
    return msgpack.packb(x, use_bin_type=True)


class Raw:
    """A DEALER socket in lockstep: send frames, get the decoded reply (or None on timeout)."""

    def __init__(self, address: str, *, req_envelope: bool = True) -> None:
        self.ctx = zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(address)
        self.req_envelope = req_envelope

    def send_frames(self, frames: list[bytes], timeout_s: float = 5.0) -> dict[str, Any] | None:
        self.sock.send_multipart(frames)
        if not self.sock.poll(int(timeout_s * 1000)):
            return None
        reply = self.sock.recv_multipart()
        if frames and frames[0] == b"" and len(frames) >= 2:
            assert reply[0] == b"", "a REQ-style envelope must come back"
        return msgpack.unpackb(reply[-1], raw=False)

    def send(self, payload: bytes, timeout_s: float = 5.0) -> dict[str, Any] | None:
        return self.send_frames([b"", payload] if self.req_envelope else [payload], timeout_s)

    def request(self, msg: dict[str, Any]) -> dict[str, Any]:
        r = self.send(pack(msg))
        assert r is not None, f"no reply to {msg.get('cmd')}"
        return r

    def close(self) -> None:
        self.sock.close(linger=0)


def test_array_round_trip() -> None:
    for dtype in ("float32", "float64", "uint8"):
        a = (np.arange(12).reshape(3, 4) % 7).astype(dtype)
        wire = encode_array(a)
        assert wire["dtype"] == dtype and wire["shape"] == [3, 4] and len(wire["data"]) == a.nbytes
        back = decode_array(msgpack.unpackb(pack(wire), raw=False))
        assert back.dtype == a.dtype and not back.flags.writeable  # a view of the reply's bytes
        np.testing.assert_array_equal(back, a)
        assert decode_array(wire, writable=True).flags.writeable
    assert encode_array(np.array([1.5], ">f8"))["data"] == np.array([1.5], "<f8").tobytes()
    with pytest.raises(ProtocolError):
        decode_array({"dtype": "float32", "shape": [2], "data": b"\0" * 7})
    with pytest.raises(ProtocolError):
        decode_array({"dtype": "int16", "shape": [1], "data": b"\0\0"})
    with pytest.raises(TypeError):
        encode_array(np.zeros(2, np.int32))


def test_repeated_request_id_is_answered_from_the_cache(address: str) -> None:
    raw = Raw(address)
    try:
        env_id = raw.request({"v": 1, "id": 1, "cmd": "make", "num_envs": 2, "config": ENV_KW})["env_id"]
        first = raw.request({"v": 1, "id": 2, "cmd": "reset", "env_id": env_id, "seed": 3})
        assert raw.request({"v": 1, "id": 2, "cmd": "reset", "env_id": env_id, "seed": 3}) == first
        act = encode_array(np.full((2, 2), 0.25, np.float32))
        s1 = raw.request({"v": 1, "id": 3, "cmd": "step", "env_id": env_id, "actions": act})
        again = raw.request({"v": 1, "id": 3, "cmd": "step", "env_id": env_id, "actions": act})
        assert again == s1  # a retry after a lost reply does not advance the simulation
        s2 = raw.request({"v": 1, "id": 4, "cmd": "step", "env_id": env_id, "actions": act})
        assert raw.request({"v": 1, "id": 5, "cmd": "close", "env_id": env_id})["closed"] is True
    finally:
        raw.close()
    with PropAmmVectorEnv(2, address, **ENV_KW) as envs:
        envs.reset(seed=3)
        o1 = envs.step(np.full((2, 2), 0.25, np.float32))[0]
        o2 = envs.step(np.full((2, 2), 0.25, np.float32))[0]
    np.testing.assert_array_equal(decode_array(s1["observations"]), o1)
    np.testing.assert_array_equal(decode_array(s2["observations"]), o2)


def test_hello_reply(address: str) -> None:
    raw = Raw(address, req_envelope=False)  # a DEALER may omit the empty delimiter
    try:
        r = raw.request({"v": 1, "id": "h", "cmd": "hello"})
    finally:
        raw.close()
    assert r["ok"] is True and r["id"] == "h" and r["v"] == 1 and r["protocol"] == 1
    assert r["server"].startswith("prop-amm-gym ")
    assert r["observation_space"]["shape"] == [5] and r["action_space"]["shape"] == [2]
    assert set(r["limits"]) == {
        "max_message_bytes",
        "max_sessions",
        "max_envs_per_session",
        "idle_timeout_s",
        "evict_idle_s",
    }
    assert r["revision"] == 3 and {"reset_seeds", "reset_mask", "evict_idle", "multi_agent"} <= set(r["features"])
    assert set(r["default_config"]) >= {"opponents", "decision_interval", "reward_mode", "sim"}


# --- fuzz ------------------------------------------------------------------------------------

Case = tuple[Union[list[bytes], bytes], Set[str], Any]  # payload (or frames), accepted codes, id to echo


def _random_garbage(rng: random.Random) -> bytes:
    while True:
        b = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 64)))
        if b and b[0] in MAP_OR_EXT_MARKERS:
            continue  # could decode to a map (or an ext object): not "malformed" for sure
        try:
            if isinstance(msgpack.unpackb(b, raw=False), dict):
                continue
        except Exception:
            pass
        return b


def _cases(rng: random.Random, env_id: str, fresh_env_id: str, limits: dict[str, int]) -> list[Callable[[int], Case]]:
    """Generators of one malformed request each, given a unique id."""
    bad = {"BAD_MESSAGE"}
    good_act = encode_array(np.zeros((1, 2), np.float32))

    def step(i: int, actions: Any, codes: Set[str] = frozenset({"BAD_ACTION"})) -> Case:
        return pack({"v": 1, "id": i, "cmd": "step", "env_id": env_id, "actions": actions}), codes, i

    def arr(dtype: str, shape: list[int], data: bytes) -> dict[str, Any]:
        return {"dtype": dtype, "shape": shape, "data": data}

    nan32 = np.array([[np.nan, 0]], np.float32).tobytes()
    inf64 = np.array([[0, -np.inf]], np.float64).tobytes()
    config_codes = {"CONFIG", "BAD_REQUEST"}  # a wrongly typed config value: either reading fits the doc
    return [
        lambda i: (_random_garbage(rng), bad, None),
        lambda i: (b"", bad, None),
        lambda i: (b"\x91" * 50_000 + b"\xc0", bad, None),  # arrays nested 50k deep
        lambda i: (pack(rng.choice([1, -7, 3.5, "hello", None, True, [1, 2], b"\x00\x01", [{"v": 1}]])), bad, None),
        lambda i: ([b"", pack({"v": 1, "id": i, "cmd": "ping"}), b"extra"], bad, None),  # 3 frames
        lambda i: ([b"x", pack({"v": 1, "id": i, "cmd": "ping"})], bad, None),  # 2 frames, not a delimiter
        lambda i: (pack({"id": i, "cmd": "hello"}), {"VERSION"}, i),
        lambda i: (pack({"v": rng.choice([0, 2, "1", 1.5, None, [1]]), "id": i, "cmd": "hello"}), {"VERSION"}, i),
        lambda i: (pack({1: 2, 3: 4}), {"VERSION"}, None),  # non-string keys, no v
        lambda i: (pack({"v": 1, "id": i}), {"BAD_REQUEST"}, i),
        lambda i: (pack({"v": 1, "id": i, "cmd": rng.choice([5, None, ["step"], b"step", {}])}), {"BAD_REQUEST"}, i),
        lambda i: (
            pack({"v": 1, "id": i, "cmd": rng.choice(["STEP", "stop", "", "reset ", "make2"])}),
            {"UNKNOWN_COMMAND"},
            i,
        ),
        lambda i: (pack({"v": 1, "id": f"s{i}", "cmd": "nope"}), {"UNKNOWN_COMMAND"}, f"s{i}"),
        lambda i: (pack({"v": 1, "id": [i], "cmd": "nope"}), {"UNKNOWN_COMMAND"}, None),  # unreadable id -> nil
        lambda i: (
            pack({"v": 1, "id": i, "cmd": rng.choice(["reset", "step", "close"]), "env_id": "nope"}),
            {"UNKNOWN_ENV"},
            i,
        ),
        lambda i: (
            pack({"v": 1, "id": i, "cmd": "step", "env_id": "e999999-000000", "actions": good_act}),
            {"UNKNOWN_ENV"},
            i,
        ),
        lambda i: (
            pack(
                {
                    "v": 1,
                    "id": i,
                    "cmd": rng.choice(["reset", "step", "close"]),
                    "env_id": rng.choice([None, 3, [env_id]]),
                }
            ),
            {"BAD_REQUEST"},
            i,
        ),
        lambda i: (
            pack({"v": 1, "id": i, "cmd": "make", "num_envs": rng.choice([0, -1, 1.5, "2", 10**9, [1]])}),
            {"BAD_REQUEST"},
            i,
        ),
        lambda i: (
            pack({"v": 1, "id": i, "cmd": "make", "autoreset_mode": rng.choice(["never", 1, "NEXT_STEP"])}),
            {"BAD_REQUEST"},
            i,
        ),
        lambda i: (
            pack({"v": 1, "id": i, "cmd": "make", "config": {"decision_interval": rng.choice([-1, 0.5])}}),
            {"CONFIG"},
            i,
        ),
        lambda i: (
            pack({"v": 1, "id": i, "cmd": "make", "config": {"sim": {"steps": rng.choice([0, -5, 2.5])}}}),
            {"CONFIG"},
            i,
        ),
        lambda i: (pack({"v": 1, "id": i, "cmd": "make", "config": {"no_such_option": 1}}), {"CONFIG"}, i),
        lambda i: (
            pack({"v": 1, "id": i, "cmd": "make", "config": {"opponents": ["no-such-strategy"]}}),
            {"CONFIG"},
            i,
        ),
        lambda i: (
            pack({"v": 1, "id": i, "cmd": "make", "config": {"fee_min_bps": 100, "fee_max_bps": 50}}),
            {"CONFIG"},
            i,
        ),
        lambda i: (pack({"v": 1, "id": i, "cmd": "make", "config": {"reward_scale": "big"}}), config_codes, i),
        lambda i: (pack({"v": 1, "id": i, "cmd": "make", "config": rng.choice([[1], "x", 7])}), config_codes, i),
        lambda i: (
            pack({"v": 1, "id": i, "cmd": "reset", "env_id": env_id, "seed": rng.choice([-1, 1.5, "7", [7], 2**60])}),
            {"BAD_REQUEST"},
            i,
        ),
        lambda i: (
            pack({"v": 1, "id": i, "cmd": "reset", "env_id": env_id, "options": rng.choice([[1], "x", 3])}),
            {"BAD_REQUEST"},
            i,
        ),
        lambda i: (
            pack({"v": 1, "id": i, "cmd": "reset", "env_id": env_id, "options": {"market": {"sigma": -1}}}),
            {"CONFIG"},
            i,
        ),
        lambda i: (
            pack({"v": 1, "id": i, "cmd": "reset", "env_id": env_id, "options": {"market": {"nope": 1}}}),
            {"CONFIG"},
            i,
        ),
        lambda i: step(i, arr("float32", [1, 3], b"\0" * 12)),
        lambda i: step(i, arr("float32", [3], b"\0" * 12)),
        lambda i: step(i, arr("float32", [2, 2], b"\0" * 16)),
        lambda i: step(i, arr("float32", [], b"\0" * 4)),
        lambda i: step(i, arr("float64", [1, 2], b"\0" * 8)),  # data shorter than the shape
        lambda i: step(i, arr(rng.choice(["int32", "uint8", "float16", "", 5]), [1, 2], b"\0" * 8)),
        lambda i: step(i, arr("float32", rng.choice([[-1, 2], [1.5, 2], "12", None]), b"\0" * 8)),
        lambda i: step(i, {"dtype": "float32", "shape": [1, 2], "data": rng.choice(["\0" * 8, [0, 0], None])}),
        lambda i: step(i, rng.choice([[0.1, 0.2], "x", 1.0, None]), {"BAD_ACTION", "BAD_REQUEST"}),
        lambda i: (pack({"v": 1, "id": i, "cmd": "step", "env_id": env_id}), {"BAD_ACTION", "BAD_REQUEST"}, i),
        lambda i: step(i, arr("float32", [1, 2], nan32)),
        lambda i: step(i, arr("float64", [1, 2], inf64)),
        lambda i: step(i, arr("float32", [2], np.array([0, np.inf], np.float32).tobytes())),
        lambda i: (pack({"v": 1, "id": i, "cmd": "step", "env_id": fresh_env_id, "actions": good_act}), {"ENV"}, i),
        lambda i: (
            pack({"v": 1, "id": i, "cmd": "ping", "pad": b"\0" * (limits["max_message_bytes"] + 1)}),
            {"TOO_LARGE"},
            None,
        ),
    ]


def test_fuzz_malformed_messages(address: str) -> None:
    """Thousands of malformed requests, each answered with its documented code; the session they
    were aimed at is unchanged (its trajectory equals a clean run's) and the server still works."""
    rng = random.Random(1234)
    np_rng = np.random.default_rng(1234)
    raw = Raw(address)
    try:
        hello = raw.request({"v": 1, "id": 1, "cmd": "hello"})
        env_id = raw.request({"v": 1, "id": 2, "cmd": "make", "num_envs": 1, "config": ENV_KW})["env_id"]
        fresh_env_id = raw.request({"v": 1, "id": 3, "cmd": "make", "config": ENV_KW})["env_id"]  # never reset
        assert raw.request({"v": 1, "id": 4, "cmd": "reset", "env_id": env_id, "seed": 21})["ok"]
        cases = _cases(rng, env_id, fresh_env_id, hello["limits"])
        next_id = 100
        step_actions: list[np.ndarray] = []
        step_obs: list[np.ndarray] = []
        step_rewards: list[float] = []
        counts: dict[str, int] = {}
        oversized = 0
        for k in range(3000):
            # every case once, then random ones, a quarter of them random bytes
            gen = cases[k] if k < len(cases) else cases[0] if rng.random() < 0.25 else rng.choice(cases)
            if gen is cases[-1]:
                oversized += 1
                if oversized > 5:  # 4 MiB each: a handful is enough
                    continue
            payload, codes, echo_id = gen(next_id)
            next_id += 1
            frames = payload if isinstance(payload, list) else [b"", payload]
            reply = raw.send_frames(frames)
            assert reply is not None, f"no reply to case {cases.index(gen)}"
            assert reply.get("ok") is False, f"case {cases.index(gen)} was accepted: {reply}"
            code = reply["error"]["code"]
            assert code in ERROR_CODES and code in codes, f"case {cases.index(gen)}: {code} not in {codes}: {reply}"
            assert isinstance(reply["error"]["message"], str) and reply["error"]["message"]
            assert reply["v"] == 1 and reply["id"] == echo_id, f"case {cases.index(gen)}: id {reply['id']!r}"
            counts[code] = counts.get(code, 0) + 1
            if k % 40 == 0:  # a valid step now and then: the session must be unaffected
                a = np_rng.uniform(-1, 1, size=(1, 2)).astype(np.float32)
                r = raw.request({"v": 1, "id": next_id, "cmd": "step", "env_id": env_id, "actions": encode_array(a)})
                next_id += 1
                assert r["ok"] is True and r["id"] == next_id - 1, f"valid step after {k} malformed messages: {r}"
                step_actions.append(a)
                step_obs.append(decode_array(r["observations"]))
                step_rewards.append(float(decode_array(r["rewards"])[0]))
        assert sum(counts.values()) >= 2900 and set(counts) >= {"BAD_MESSAGE", "VERSION", "BAD_ACTION", "CONFIG"}
        print(f"fuzz: {sum(counts.values())} malformed messages answered: {dict(sorted(counts.items()))}")
        assert raw.request({"v": 1, "id": next_id, "cmd": "hello"})["protocol"] == 1
        for e in (env_id, fresh_env_id):
            next_id += 1
            assert raw.request({"v": 1, "id": next_id, "cmd": "close", "env_id": e})["closed"] is True
    finally:
        raw.close()

    with PropAmmVectorEnv(1, address, **ENV_KW) as clean:  # same autoreset as the raw session
        clean.reset(seed=21)
        for a, obs, rew in zip(step_actions, step_obs, step_rewards):
            o, r, *_ = clean.step(a)
            np.testing.assert_array_equal(o, obs)
            assert r[0] == rew


def test_far_oversized_message_is_dropped_and_server_survives(spawn_server: Callable[..., ServerProcess]) -> None:
    srv = spawn_server("--max-message-bytes", "4096")
    raw = Raw(srv.address)
    try:
        assert raw.send(pack({"v": 1, "id": 1, "cmd": "ping", "pad": b"\0" * 5000}))["error"]["code"] == "TOO_LARGE"
        # Far above the limit, ZeroMQ itself drops the message (and that connection): no reply.
        assert raw.send(pack({"v": 1, "id": 2, "cmd": "ping", "pad": b"\0" * (2 << 20)}), timeout_s=1.0) is None
    finally:
        raw.close()
    raw = Raw(srv.address)
    try:
        assert raw.request({"v": 1, "id": 3, "cmd": "ping"})["pong"] is True
    finally:
        raw.close()


def test_too_many_sessions(spawn_server: Callable[..., ServerProcess]) -> None:
    srv = spawn_server("--max-sessions", "2")
    raw = Raw(srv.address)
    try:
        ids = [raw.request({"v": 1, "id": i, "cmd": "make"})["env_id"] for i in (1, 2)]
        r = raw.request({"v": 1, "id": 3, "cmd": "make"})
        assert r["ok"] is False and r["error"]["code"] == "TOO_MANY_SESSIONS"
        assert raw.request({"v": 1, "id": 4, "cmd": "close", "env_id": ids[0]})["closed"] is True
        assert raw.request({"v": 1, "id": 5, "cmd": "close", "env_id": ids[0]})["error"]["code"] == "UNKNOWN_ENV"
        assert raw.request({"v": 1, "id": 6, "cmd": "make"})["ok"] is True
    finally:
        raw.close()


@pytest.mark.parametrize("seed", [None, 5])
def test_rejected_reset_leaves_the_session_unchanged(address: str, seed: int | None) -> None:
    """A reset refused for its options must not touch the pins or the seed stream (checked through
    the autoresets that follow)."""
    actions = np.random.default_rng(8).uniform(-1, 1, size=(60, 1, 2)).astype(np.float32)
    got: list[tuple[np.ndarray, float]] = []
    raw = Raw(address)
    try:
        env_id = raw.request({"v": 1, "id": 1, "cmd": "make", "config": ENV_KW})["env_id"]
        assert raw.request({"v": 1, "id": 2, "cmd": "reset", "env_id": env_id, "seed": 21})["ok"]
        for t, a in enumerate(actions):
            if t == 3:
                bad = {"v": 1, "id": 1000, "cmd": "reset", "env_id": env_id, "seed": seed}
                r = raw.request({**bad, "options": {"market": {"sigma": -1}}})
                assert r["ok"] is False and r["error"]["code"] == "CONFIG"
            r = raw.request({"v": 1, "id": 10 + t, "cmd": "step", "env_id": env_id, "actions": encode_array(a)})
            assert r["ok"] is True, f"step {t}: {r}"
            got.append((decode_array(r["observations"]), float(decode_array(r["rewards"])[0])))
        raw.request({"v": 1, "id": 99, "cmd": "close", "env_id": env_id})
    finally:
        raw.close()
    with PropAmmVectorEnv(1, address, **ENV_KW) as clean:
        clean.reset(seed=21)
        for a, (obs, rew) in zip(actions, got):
            o, r, *_ = clean.step(a)
            np.testing.assert_array_equal(o, obs)
            assert r[0] == rew


def test_idle_session_is_freed(spawn_server: Callable[..., ServerProcess]) -> None:
    srv = spawn_server("--idle-timeout", "1")
    with PropAmmVectorEnv(1, srv.address, reconnect=False, **ENV_KW) as envs:
        envs.reset(seed=0)
        time.sleep(2.5)  # idle 1 s, swept every second
        with pytest.raises(ServerError) as e:
            envs.step(np.zeros((1, 2), np.float32))
        assert e.value.code == "UNKNOWN_ENV" and envs.env_id in e.value.message
    # By default the client makes the session again: the lost step ends the episode (truncated)
    # and the next one resets it, as NEXT_STEP autoreset would.
    with PropAmmVectorEnv(1, srv.address, list_infos=True, **ENV_KW) as envs:
        obs0, _ = envs.reset(seed=0)
        first_id = envs.env_id
        time.sleep(2.5)
        obs, rew, term, trunc, infos = envs.step(np.zeros((1, 2), np.float32))
        assert envs.recreated == 1 and envs.env_id != first_id
        assert trunc[0] and not term[0] and rew[0] == 0 and infos[0]["session_lost"] is True
        np.testing.assert_array_equal(obs, obs0)  # the last observation the client saw
        obs, rew, term, trunc, infos = envs.step(np.zeros((1, 2), np.float32))
        assert infos[0]["autoreset"] is True and infos[0]["decision"] == "reset" and not trunc[0]
