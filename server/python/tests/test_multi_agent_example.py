"""examples/python/multi_agent_ppo.py runs end to end with a tiny budget and writes its result."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "python" / "multi_agent_ppo.py"


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed (WITH_TORCH=1)")
def test_multi_agent_ppo_example_runs_and_writes_its_result(address: str, tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    args = ["--address", address, "--agents", "2", "--iterations", "2", "--episodes", "1", "--eval-episodes", "2"]
    args += ["--steps", "1000", "--epoch-len", "250", "--log-every", "1", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "server" / "python")}
    r = subprocess.run([sys.executable, str(EXAMPLE), *args], capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "iter    2/2" in r.stdout and "held-out evaluation on 2 seeds" in r.stdout
    result = json.loads(out.read_text())
    assert result["agents"] == 2 and result["iterations"] == 2
    assert len(result["training_return_history"]) == 2
    for name in ("random", "untrained", "trained"):
        assert set(result[name]) == {"mean_return_per_agent", "mean_edge_vs_normalizer"}
        assert all(math.isfinite(v) for v in result[name].values())
    # Two agents' first fees, each in the action's range 0..500 bps.
    assert len(result["trained_first_fees_bps"]) == 2
    assert all(0 <= f <= 500 for fees in result["trained_first_fees_bps"] for f in fees)
