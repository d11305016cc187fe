"""The Ray Tune sweep over `propamm train` (propamm_gym.tune_train), with a tiny budget."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import SERVER_JS, require_ray

from propamm_gym.tune_train import parse_search, run_sweep  # they import ray only when used

require_ray()


# Decisions every 100 steps (ES's default is one per trade), so that 200 decisions are two generations.
TRAIN_ARGS = [
    "--timesteps", "200", "--eval-every", "1", "--eval-episodes", "2", "--workers", "1",
    "--steps", "2000", "--epoch-len", "500", "--hp", "seedsPerGeneration=1", "--decision-interval", "100",
]  # fmt: skip


def test_sweep_reports_each_trials_own_metrics(ray_cluster: Any, tmp_path: Path) -> None:
    space = parse_search(["population=4|6", "sigma=uniform:0.02:0.1"])
    grid = run_sweep(
        space,
        num_samples=3,
        train_args=TRAIN_ARGS,
        metric="meanEdgeVsNormalizer",
        storage_path=str(tmp_path),
        name="sweep",
        seed=3,
        cli=["node", str(SERVER_JS)],
    )
    assert len(grid) == 3 and grid.errors == []
    configs = [r.config for r in grid]
    assert all(c["population"] in (4, 6) and 0.02 <= c["sigma"] <= 0.1 for c in configs)
    assert len({c["sigma"] for c in configs}) == 3
    for r in grid:
        run = Path(r.path) / "run"
        records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
        evals = [x for x in records if x["type"] == "eval"]
        assert len(evals) == 2  # 200 timesteps: two generations, each evaluated
        # every eval record was reported, in order, with its own numbers
        df = r.metrics_dataframe
        assert list(df["timesteps"]) == [e["timesteps"] for e in evals]
        assert list(df["meanEdgeVsNormalizer"]) == [e["meanEdgeVsNormalizer"] for e in evals]
        assert list(df["meanReturn"]) == [e["meanReturn"] for e in evals]
        assert r.metrics["meanEdgeVsNormalizer"] == evals[-1]["meanEdgeVsNormalizer"]
        # the trial trained with its own hyper-parameters (its final checkpoint's config)
        state = json.loads((run / "ckpt-000002" / "state.json").read_text())
        assert state["config"]["population"] == r.config["population"]
        assert state["config"]["sigma"] == r.config["sigma"]
    best = grid.get_best_result()
    assert best.metrics["meanEdgeVsNormalizer"] == max(r.metrics["meanEdgeVsNormalizer"] for r in grid)
