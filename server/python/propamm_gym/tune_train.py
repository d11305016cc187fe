"""A Ray Tune sweep over ``propamm train`` hyper-parameters (the ``ray`` extra).

    python -m propamm_gym.tune_train --num-samples 8 --timesteps 20000 \\
        --search population=16|32|48 --search sigma=loguniform:0.01:0.1 --search learningRate=uniform:0.005:0.05 \\
        --metric meanEdgeVsNormalizer -- --opponents starter --observation seed --decision-interval 100

Each trial runs ``node dist/cli/main.js train --hp key=value ... --out <trial dir>/run`` as a
subprocess (its own process group, killed if the trial ends first), then reports every held-out
evaluation (``type: "eval"`` records) of that run's ``metrics.jsonl`` to Tune, in order: the
trial's result is its last evaluation. The run folder is kept in the trial's folder (``run/``).
``--search`` values: ``a|b|c`` (tune.choice), ``uniform:lo:hi``, ``loguniform:lo:hi``,
``randint:lo:hi`` (hi excluded), or one fixed value. Anything after ``--`` is
passed to ``propamm train`` as is. Connects to a running cluster with ``--address auto``
(``ray start --head`` / ``ray start --address``), else starts a local one.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .ray_rollouts import _die_with_parent, find_cli

#: The held-out metrics of an eval record of metrics.jsonl (training/metrics.ts).
EVAL_METRICS = ("meanReturn", "meanEdge", "meanEdgeVsNormalizer")


def _scalar(text: str) -> Any:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_search(specs: Sequence[str]) -> dict[str, Any]:
    """``["population=16|32", "sigma=loguniform:0.01:0.1"]`` -> a Tune search space."""
    from ray import tune

    space: dict[str, Any] = {}
    for spec in specs:
        key, sep, value = spec.partition("=")
        if not sep or not key:
            raise ValueError(f"--search takes key=values, got {spec!r}")
        kind, _, bounds = value.partition(":")
        if kind in ("uniform", "loguniform", "randint"):
            lo, _, hi = bounds.partition(":")
            if kind == "randint":
                space[key] = tune.randint(int(lo), int(hi))
            else:
                space[key] = (tune.uniform if kind == "uniform" else tune.loguniform)(float(lo), float(hi))
        elif "|" in value:
            space[key] = tune.choice([_scalar(v) for v in value.split("|")])
        else:
            space[key] = _scalar(value)
    return space


def train_command(cli: Sequence[str], config: Mapping[str, Any], out: str, train_args: Sequence[str]) -> list[str]:
    """``<cli> train --hp k=v ... --out <out> <train_args>``: every config entry is an --hp override."""
    hps: list[str] = []
    for key, value in sorted(config.items()):
        hps += ["--hp", f"{key}={value}"]
    return [*cli, "train", *hps, "--out", out, *train_args]


def read_evals(metrics_path: Path) -> list[dict[str, Any]]:
    """The ``type: "eval"`` records of a metrics.jsonl, in order."""
    records = []
    with open(metrics_path) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                if r.get("type") == "eval":
                    records.append(r)
    return records


def run_trial(config: dict[str, Any], cli: Sequence[str], train_args: Sequence[str]) -> None:
    """The Tune trainable: one ``propamm train`` run, then its held-out evaluations reported in order."""
    from ray import tune

    out = Path(tune.get_context().get_trial_dir()) / "run"
    cmd = train_command(cli, config, str(out), train_args)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / "train.log", "wb") as log:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        try:
            code = proc.wait()
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    if code != 0:
        raise RuntimeError(f"`{' '.join(cmd)}` exited with {code}; see {out.parent / 'train.log'}")
    evals = read_evals(out / "metrics.jsonl")
    if not evals:
        raise RuntimeError(f"{out / 'metrics.jsonl'} holds no held-out evaluation: give --eval-every to propamm train")
    for r in evals:
        metrics = {k: float(r[k]) for k in EVAL_METRICS if k in r}
        tune.report({**metrics, "timesteps": int(r["timesteps"]), "eval_iteration": int(r["iteration"])})


def run_sweep(
    search_space: Mapping[str, Any],
    *,
    num_samples: int,
    train_args: Sequence[str] = (),
    metric: str = "meanEdgeVsNormalizer",
    mode: str = "max",
    cpus_per_trial: float = 1,
    storage_path: str | None = None,
    name: str | None = None,
    seed: int | None = None,
    cli: Sequence[str] | None = None,
) -> Any:
    """Runs the sweep on the current Ray cluster (``ray.init`` first) and returns Tune's ResultGrid."""
    from ray import tune

    trainable = tune.with_parameters(
        run_trial, cli=list(cli) if cli is not None else find_cli(), train_args=list(train_args)
    )
    tuner = tune.Tuner(
        tune.with_resources(trainable, {"cpu": cpus_per_trial}),
        param_space=dict(search_space),
        tune_config=tune.TuneConfig(
            num_samples=num_samples,
            metric=metric,
            mode=mode,
            search_alg=_seeded_search(seed),
        ),
        run_config=tune.RunConfig(storage_path=storage_path, name=name, verbose=0),
    )
    return tuner.fit()


def _seeded_search(seed: int | None) -> Any:
    """Tune's random/grid search, seeded when ``seed`` is given (the same configs every time)."""
    if seed is None:
        return None
    from ray.tune.search import BasicVariantGenerator

    return BasicVariantGenerator(random_state=seed)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    train_args: list[str] = []
    if "--" in args_list:
        i = args_list.index("--")
        args_list, train_args = args_list[:i], args_list[i + 1 :]
    p = argparse.ArgumentParser(prog="python -m propamm_gym.tune_train", description=__doc__.split("\n\n")[0])
    p.add_argument("--search", action="append", default=[], metavar="KEY=VALUES", help="a hyper-parameter's range")
    p.add_argument("--num-samples", type=int, default=4, help="trials (samples of the search space)")
    p.add_argument("--timesteps", type=int, default=20000, help="propamm train --timesteps of each trial")
    p.add_argument("--eval-every", type=int, default=5, help="propamm train --eval-every of each trial")
    p.add_argument("--eval-episodes", type=int, default=8, help="propamm train --eval-episodes of each trial")
    p.add_argument("--metric", default="meanEdgeVsNormalizer", choices=EVAL_METRICS)
    p.add_argument("--mode", default="max", choices=("max", "min"))
    p.add_argument("--cpus-per-trial", type=int, default=1, help="also propamm train --workers")
    p.add_argument("--seed", type=int, default=None, help="seeds the search (and each trial's training seed)")
    p.add_argument("--address", default=None, help="a running Ray cluster (auto: the one on this node)")
    p.add_argument("--storage-path", default=None, help="where Tune keeps the trials (shared storage on a cluster)")
    p.add_argument("--name", default=None, help="the experiment's folder name")
    args = p.parse_args(args_list)

    import ray

    ray.init(address=args.address, log_to_driver=False)
    base = ["--timesteps", str(args.timesteps), "--eval-every", str(args.eval_every)]
    base += ["--eval-episodes", str(args.eval_episodes), "--workers", str(args.cpus_per_trial)]
    if args.seed is not None:
        base += ["--seed", str(args.seed)]
    grid = run_sweep(
        parse_search(args.search),
        num_samples=args.num_samples,
        train_args=[*base, *train_args],
        metric=args.metric,
        mode=args.mode,
        cpus_per_trial=args.cpus_per_trial,
        storage_path=args.storage_path,
        name=args.name,
        seed=args.seed,
    )
    rows = []
    for r in grid:
        value = r.metrics.get(args.metric, math.nan) if r.metrics else math.nan
        rows.append((value, r.config, os.path.join(r.path, "run"), r.error))  # the trial's copy in storage
    rows.sort(key=lambda x: (math.isnan(x[0]), -x[0] if args.mode == "max" else x[0]))
    for value, config, run_dir, error in rows:
        status = f"ERROR {error}" if error else f"{args.metric} {value:.4f}"
        print(f"{status}  {json.dumps(config)}  {run_dir}")
    ray.shutdown()
    return 1 if any(row[3] for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
