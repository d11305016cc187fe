#!/usr/bin/env python3
"""Shared-parameter PPO (PyTorch) for several pools of one simulation, over propamm_gym.ParallelEnv.

    node dist/cli/main.js serve --bind tcp://127.0.0.1:5555 &       # or: npx propamm serve
    python examples/python/multi_agent_ppo.py                        # about 2 minutes on 2 cores
    python examples/python/multi_agent_ppo.py --serve --out result.json

Every agent (pool) runs the same Gaussian MLP policy and critic. Agents decide asynchronously:
a Parallel step uses only the actions of the agents whose decision is due (``acting_agents``),
so an agent's transition runs from one of its decisions to its next one, and its reward is the
sum of the rewards it received in between. Each iteration plays whole episodes, computes GAE
per agent over its own decisions, and takes clipped PPO steps on all agents' transitions
together. Before and after training it plays held-out seeds with every agent random and with
every agent on the trained policy's mean action, and prints (and with ``--out`` writes as JSON)
the mean return per agent and the agents' mean edge over the normalizer.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

try:
    from propamm_gym import Connection, ParallelEnv, ServerUnavailableError
except ImportError:  # run from a checkout without `pip install -e server/python`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "server" / "python"))
    from propamm_gym import Connection, ParallelEnv, ServerUnavailableError

REPO_ROOT = Path(__file__).resolve().parents[2]
EVAL_SEED = 1_000_000  # held out: training uses seeds from --seed

Policy = Callable[[np.ndarray], np.ndarray]


class ActorCritic(nn.Module):
    def __init__(self, obs_dim: int, act_dim: int, hidden: int = 64) -> None:
        super().__init__()
        self.pi = nn.Sequential(nn.Linear(obs_dim, hidden), nn.Tanh(), nn.Linear(hidden, act_dim))
        self.v = nn.Sequential(nn.Linear(obs_dim, hidden), nn.Tanh(), nn.Linear(hidden, 1))
        self.log_std = nn.Parameter(torch.full((act_dim,), -0.5))
        nn.init.zeros_(self.pi[-1].bias)
        nn.init.uniform_(self.pi[-1].weight, -0.01, 0.01)  # start near mean action 0

    def dist(self, obs: torch.Tensor) -> torch.distributions.Normal:
        return torch.distributions.Normal(self.pi(obs), self.log_std.exp())

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.v(obs).squeeze(-1)

    @torch.no_grad()
    def act_mean(self, obs: np.ndarray) -> np.ndarray:
        return self.pi(torch.from_numpy(obs)).clamp(-1, 1).numpy()


def play(env: ParallelEnv, seed: int, act: Callable[[str, np.ndarray], np.ndarray]) -> dict[str, Any]:
    """One episode; ``act(agent, obs)`` is asked only when the agent's decision is due.

    Returns each agent's decisions as lists of (obs, action, reward until its next decision) and
    the episode summary (edges) of the last step.
    """
    obs, _ = env.reset(seed=seed)
    traj: dict[str, list[list[Any]]] = {a: [] for a in env.possible_agents}
    summary: dict[str, Any] = {}
    while env.agents:
        actions = {}
        for a in env.acting_agents:
            action = act(a, obs[a])
            traj[a].append([obs[a], action, 0.0])
            actions[a] = action
        obs, rewards, _, _, infos = env.step(actions)
        for a, r in rewards.items():
            if traj[a]:
                traj[a][-1][2] += r  # the reward between an agent's decisions goes to the earlier one
        for info in infos.values():
            summary = info.get("propamm_episode", summary)
    return {"traj": traj, "summary": summary}


def edges_vs_normalizer(summary: dict[str, Any], agent_pools: list[int]) -> float:
    pools = summary["pools"]
    norm = pools[-1]["edge"]
    return float(np.mean([pools[i]["edge"] - norm for i in agent_pools]))


def evaluate(env: ParallelEnv, policy: Policy, episodes: int, agent_pools: list[int]) -> dict[str, float]:
    returns, edges = [], []
    for k in range(episodes):
        ep = play(env, EVAL_SEED + k, lambda _a, o: policy(o))
        returns += [sum(step[2] for step in t) for t in ep["traj"].values()]
        edges.append(edges_vs_normalizer(ep["summary"], agent_pools))
    return {"mean_return_per_agent": float(np.mean(returns)), "mean_edge_vs_normalizer": float(np.mean(edges))}


def gae(rewards: np.ndarray, values: np.ndarray, gamma: float, lam: float) -> np.ndarray:
    """Advantages of one agent's decisions in one episode (the last one ends the episode)."""
    adv = np.zeros_like(rewards)
    last = 0.0
    for t in reversed(range(len(rewards))):
        next_v = values[t + 1] if t + 1 < len(rewards) else 0.0
        delta = rewards[t] + gamma * next_v - values[t]
        last = delta + gamma * lam * last
        adv[t] = last
    return adv


def train(args: argparse.Namespace, env: ParallelEnv, model: ActorCritic) -> list[float]:
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    history = []
    seed = args.seed
    t0 = time.monotonic()
    for it in range(1, args.iterations + 1):
        # 1. Rollout: whole episodes, every agent on the shared policy (sampled actions).
        batch_obs, batch_act, batch_logp, batch_adv, batch_ret = [], [], [], [], []
        ep_returns = []
        for _ in range(args.episodes):

            def act(_agent: str, o: np.ndarray) -> np.ndarray:
                with torch.no_grad():
                    return model.dist(torch.from_numpy(o)).sample().numpy()

            ep = play(env, seed, act)
            seed += 1
            for t in ep["traj"].values():
                if not t:
                    continue
                o = np.stack([s[0] for s in t]).astype(np.float32)
                a = np.stack([s[1] for s in t]).astype(np.float32)
                r = np.array([s[2] for s in t], dtype=np.float32)
                with torch.no_grad():
                    v = model.value(torch.from_numpy(o)).numpy()
                    logp = model.dist(torch.from_numpy(o)).log_prob(torch.from_numpy(a)).sum(-1).numpy()
                adv = gae(r, v, args.gamma, args.lam)
                batch_obs.append(o)
                batch_act.append(a)
                batch_logp.append(logp)
                batch_adv.append(adv)
                batch_ret.append(adv + v)
                ep_returns.append(float(r.sum()))
        obs = torch.from_numpy(np.concatenate(batch_obs))
        acts = torch.from_numpy(np.concatenate(batch_act))
        old_logp = torch.from_numpy(np.concatenate(batch_logp))
        adv = torch.from_numpy(np.concatenate(batch_adv))
        ret = torch.from_numpy(np.concatenate(batch_ret))
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)

        # 2. PPO update over every agent's transitions (one shared network).
        n = len(obs)
        for _ in range(args.epochs):
            for idx in torch.randperm(n).split(args.minibatch):
                dist = model.dist(obs[idx])
                ratio = (dist.log_prob(acts[idx]).sum(-1) - old_logp[idx]).exp()
                pg = -torch.min(ratio * adv[idx], ratio.clamp(1 - args.clip, 1 + args.clip) * adv[idx]).mean()
                v_loss = 0.5 * (model.value(obs[idx]) - ret[idx]).pow(2).mean()
                loss = pg + v_loss
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), 0.5)
                opt.step()
        history.append(float(np.mean(ep_returns)))
        if it % args.log_every == 0 or it == args.iterations:
            print(
                f"iter {it:4d}/{args.iterations}  transitions {n:5d}  mean return per agent {history[-1]:8.4f}  "
                f"std {model.log_std.exp().mean().item():.3f}  {time.monotonic() - t0:6.1f} s",
                flush=True,
            )
    return history


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    main_js = REPO_ROOT / "dist" / "cli" / "main.js"
    if not main_js.exists():
        raise SystemExit(f"{main_js} is missing: run `npm run build` first")
    address = f"tcp://127.0.0.1:{free_port()}"
    proc = subprocess.Popen(["node", str(main_js), "serve", "--bind", address], cwd=REPO_ROOT)
    for _ in range(100):
        try:
            with Connection(address, timeout_s=0.3, retries=1) as c:
                c.ping()
            return proc, address
        except ServerUnavailableError:
            if proc.poll() is not None:
                break
    proc.kill()
    raise SystemExit("the server did not start")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--address", default="tcp://127.0.0.1:5555", help="the server (propamm serve --bind ...)")
    p.add_argument("--serve", action="store_true", help="start `node dist/cli/main.js serve` on a free port")
    p.add_argument("--agents", type=int, default=3, help="pools controlled by the shared policy")
    p.add_argument("--opponents", nargs="*", default=["starter"], help="built-in opponents after the agents")
    p.add_argument("--iterations", type=int, default=40)
    p.add_argument("--episodes", type=int, default=8, help="episodes per iteration")
    p.add_argument("--eval-episodes", type=int, default=16, help="held-out episodes per evaluated policy")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--minibatch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--gamma", type=float, default=0.9, help="fees act mostly on the next interval")
    p.add_argument("--lam", type=float, default=0.9)
    p.add_argument("--clip", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=2000, help="simulation steps per episode")
    p.add_argument("--epoch-len", type=int, default=500)
    p.add_argument("--decision-interval", type=int, default=100)
    p.add_argument("--fee-max-bps", type=float, default=250.0)
    p.add_argument("--log-every", type=int, default=5)
    p.add_argument("--out", type=Path, help="write the evaluation as JSON here")
    args = p.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)  # leave the other core to the server
    rng = np.random.default_rng(args.seed)
    server = None
    address = args.address
    if args.serve:
        server, address = start_server()
    lineup: list[Any] = [{"agent": f"pool_{i}"} for i in range(args.agents)] + list(args.opponents)
    config: dict[str, Any] = {
        "decision_interval": args.decision_interval,
        "reward_baseline": "normalizer",  # learn to out-earn the reference pool
        "fee_max_bps": args.fee_max_bps,
        "sim": {"steps": args.steps, "epoch_len": args.epoch_len},
    }
    agent_pools = list(range(args.agents))
    try:
        env = ParallelEnv(address, lineup=lineup, **config)
        try:
            print(f"server {env.server_info['server']} at {address}; lineup {lineup}; config {config}")
            obs_dim = env.observation_space(env.possible_agents[0]).shape[0]
            act_dim = env.action_space(env.possible_agents[0]).shape[0]
            model = ActorCritic(obs_dim, act_dim)

            def random_policy(_obs: np.ndarray) -> np.ndarray:
                return rng.uniform(-1, 1, size=act_dim).astype(np.float32)

            before = {
                "random": evaluate(env, random_policy, args.eval_episodes, agent_pools),
                "untrained": evaluate(env, model.act_mean, args.eval_episodes, agent_pools),
            }
            t0 = time.monotonic()
            history = train(args, env, model)
            train_s = time.monotonic() - t0
            trained = evaluate(env, model.act_mean, args.eval_episodes, agent_pools)
            first = env.reset(seed=EVAL_SEED)[0]
            fees = [[round(float(f), 1) for f in (model.act_mean(first[a]) + 1) / 2 * args.fee_max_bps] for a in first]
        finally:
            env.close()
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)

    result = {
        "agents": args.agents,
        "opponents": args.opponents,
        "iterations": args.iterations,
        "train_seconds": round(train_s, 1),
        "eval_seeds": [EVAL_SEED, EVAL_SEED + args.eval_episodes - 1],
        "random": before["random"],
        "untrained": before["untrained"],
        "trained": trained,
        "trained_first_fees_bps": fees,
        "training_return_history": history,
    }
    print(f"\ntrained for {train_s:.0f} s; held-out evaluation on {args.eval_episodes} seeds from {EVAL_SEED}:")
    for name in ("random", "untrained", "trained"):
        r = result[name]
        print(
            f"  {name:10s} mean return per agent {r['mean_return_per_agent']:8.4f}   "
            f"mean edge vs normalizer {r['mean_edge_vs_normalizer']:8.2f}"
        )
    print(f"  trained policy's first fees (bps) per agent: {fees}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
