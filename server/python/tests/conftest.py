"""Fixtures: a real `propamm serve` (node dist/cli/main.js) for the whole session, helpers."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[2]
SERVER_JS = REPO_ROOT / "dist" / "cli" / "main.js"
INDEX_JS = REPO_ROOT / "dist" / "index.js"

sys.path.insert(0, str(HERE.parent))  # the package, when it is not installed

from propamm_gym import Connection, ServerUnavailableError  # noqa: E402

#: Short episodes keep the suite fast: 2000 steps, 4 epochs, ~25 decisions.
SIM = {"steps": 2000, "epoch_len": 500}
ENV_KW: dict[str, Any] = {"opponents": ["starter"], "decision_interval": 100, "sim": SIM}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """`node dist/cli/main.js serve --bind <address> [args]`, ready once it answers a ping."""

    def __init__(self, *args: str, address: str | None = None, startup_s: float = 30.0) -> None:
        if not SERVER_JS.exists():
            pytest.fail(f"{SERVER_JS} is missing: run `npm run build` in {REPO_ROOT} first")
        self.address = address or f"tcp://127.0.0.1:{free_port()}"
        self.proc = subprocess.Popen(
            ["node", str(SERVER_JS), "serve", "--bind", self.address, *args],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + startup_s
        while True:
            if self.proc.poll() is not None:
                out = self.proc.stdout.read() if self.proc.stdout else ""
                pytest.fail(f"`propamm serve` exited with {self.proc.returncode}:\n{out}")
            try:
                with Connection(self.address, timeout_s=0.5, retries=1) as c:
                    c.ping()
                break
            except ServerUnavailableError:
                if time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"`propamm serve` did not answer at {self.address} within {startup_s} s")

    def kill(self) -> None:
        """SIGKILL: the server vanishes without closing anything."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.proc.stdout:
            self.proc.stdout.close()


@pytest.fixture(scope="session")
def server() -> Iterator[ServerProcess]:
    srv = ServerProcess()
    yield srv
    srv.stop()
    assert srv.proc.returncode == 0, f"server exit code {srv.proc.returncode} after SIGTERM"


@pytest.fixture(scope="session")
def address(server: ServerProcess) -> str:
    return server.address


@pytest.fixture
def spawn_server() -> Iterator[Callable[..., ServerProcess]]:
    """A private server for tests that kill it or change its limits."""
    started: list[ServerProcess] = []

    def spawn(*args: str, address: str | None = None) -> ServerProcess:
        s = ServerProcess(*args, address=address)
        started.append(s)
        return s

    yield spawn
    for s in started:
        s.stop()


def actions_for(seed: int, n: int, shape: tuple[int, ...] = (2,)) -> np.ndarray:
    """Deterministic float32 actions, slightly beyond [-1, 1] so clipping is exercised."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-1.1, 1.1, size=(n, *shape)).astype(np.float32)


CAMEL = {
    "decision_interval": "decisionInterval",
    "reward_mode": "rewardMode",
    "reward_scale": "rewardScale",
    "reward_baseline": "rewardBaseline",
    "risk_penalty": "riskPenalty",
    "fee_min_bps": "feeMinBps",
    "fee_max_bps": "feeMaxBps",
    "epoch_len": "epochLen",
    "risk_lambda": "riskLambda",
}


def camel_config(kw: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in kw.items():
        out[CAMEL.get(k, k)] = camel_config(v) if isinstance(v, dict) else v
    return out


_TS_SCRIPT = """
import { readFileSync } from "node:fs";
const { PropAmmEnv } = await import(process.argv[1]);
const jobs = JSON.parse(readFileSync(0, "utf8"));
const out = jobs.map(({ config, seed, actions }) => {
  const env = new PropAmmEnv(config);
  const r0 = env.reset({ seed });
  const obs = [Array.from(r0.observation)];
  const rewards = [];
  const decisions = [r0.info.decision];
  for (let i = 0; ; i++) {
    const r = env.step(actions[i]);
    obs.push(Array.from(r.observation));
    rewards.push(r.reward);
    decisions.push(r.info.decision);
    if (r.terminated || r.truncated) break;
  }
  return { obs, rewards, decisions };
});
process.stdout.write(JSON.stringify(out));
"""


def ts_trajectories(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Runs the in-process TypeScript PropAmmEnv (dist/index.js) on each job {config, seed, actions}."""
    payload = json.dumps(
        [
            {"config": camel_config(j["config"]), "seed": j["seed"], "actions": np.asarray(j["actions"]).tolist()}
            for j in jobs
        ]
    )
    res = subprocess.run(
        ["node", "--input-type=module", "-e", _TS_SCRIPT, INDEX_JS.as_uri()],
        input=payload,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
        env={**os.environ},
    )
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_gone(pid: int, timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def require_ray() -> Any:
    """``ray`` (with ``ray.tune``), or a skip of the calling module that says why (the ray extra)."""
    try:
        import ray
        import ray.tune
    except Exception as e:  # absent (ModuleNotFoundError) or a broken install
        pytest.skip(f"ray[tune] is not importable ({e}): WITH_RAY=1 npm run setup:python", allow_module_level=True)
    return ray


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Any]:
    """A local Ray cluster of 2 CPUs for the Ray tests."""
    ray = require_ray()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
