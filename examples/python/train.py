#!/usr/bin/env python3
"""Trains a fee-setting agent with PPO (PyTorch) over the prop-amm gym server's vector env.

    node dist/cli/main.js serve --bind tcp://127.0.0.1:5555 &   # or: npx propamm serve
    python examples/python/train.py                              # about a minute on 2 cores

(`--serve` starts the server itself.) The policy is a small Gaussian MLP over the 5 observations;
the critic is a second MLP. Before and after training it evaluates, on held-out seeds, a random
policy (uniform actions), the untrained policy and the trained one (both acting with their mean),
and prints their mean episode returns and the paired differences.

By default the action maps onto fees of 0..500 bps (the env's default is 0..250), so the
untrained policy (mean action 0 = 250 bps) starts far from good fees and has to learn the level.
"""

from __future__ import annotations

import argparse
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
    from propamm_gym import Connection, PropAmmVectorEnv, ServerUnavailableError
except ImportError:  # run from a checkout without `pip install -e server/python`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "server" / "python"))
    from propamm_gym import Connection, PropAmmVectorEnv, ServerUnavailableError

REPO_ROOT = Path(__file__).resolve().parents[2]
EVAL_SEED = 1_000_000  # held out: training starts from --seed and continues on the envs' own streams


class ActorCritic(nn.Module):
    def __init__(self, obs_dim: int, act_dim: int, hidden: int = 64) -> None:
        super().__init__()
        self.pi = nn.Sequential(
            nn.Linear(obs_dim, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, act_dim)
        )
        self.v = nn.Sequential(
            nn.Linear(obs_dim, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, 1)
        )
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


def evaluate(envs: PropAmmVectorEnv, policy: Callable[[np.ndarray], np.ndarray], seed: int) -> np.ndarray:
    """One episode per env from seeds seed, seed+1, ...: the episode returns."""
    obs, _ = envs.reset(seed=seed)
    returns = np.zeros(envs.num_envs)
    done = np.zeros(envs.num_envs, dtype=bool)
    while not done.all():
        obs, reward, terminated, truncated, _ = envs.step(policy(obs))
        returns += np.where(done, 0.0, reward)
        done |= terminated | truncated
    return returns


def train(args: argparse.Namespace, envs: PropAmmVectorEnv, model: ActorCritic) -> None:
    n, T = envs.num_envs, args.rollout
    obs_dim = envs.single_observation_space.shape[0]
    act_dim = envs.single_action_space.shape[0]
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    obs_np, _ = envs.reset(seed=args.seed)
    obs = torch.from_numpy(obs_np)
    autoreset = np.zeros(n, dtype=bool)  # NEXT_STEP: this step only resets the env, its action is ignored
    buf_obs = torch.zeros(T, n, obs_dim)
    buf_act = torch.zeros(T, n, act_dim)
    buf_logp = torch.zeros(T, n)
    buf_val = torch.zeros(T + 1, n)
    buf_rew = torch.zeros(T, n)
    buf_term = torch.zeros(T, n)
    buf_valid = torch.zeros(T, n)
    finished: list[float] = []
    ep_return = np.zeros(n)
    t_start = time.monotonic()
    for it in range(1, args.iterations + 1):
        with torch.no_grad():
            for t in range(T):
                d = model.dist(obs)
                a = d.sample()
                buf_obs[t], buf_act[t] = obs, a
                buf_logp[t] = d.log_prob(a).sum(-1)
                buf_val[t] = model.value(obs)
                buf_valid[t] = torch.from_numpy(~autoreset).float()
                obs_np, rew, term, trunc, _ = envs.step(a.numpy())
                buf_rew[t] = torch.from_numpy(rew).float()
                buf_term[t] = torch.from_numpy(term).float()
                ep_return += np.where(autoreset, 0.0, rew)
                autoreset = term | trunc
                for i in np.flatnonzero(autoreset):
                    finished.append(float(ep_return[i]))
                    ep_return[i] = 0.0
                obs = torch.from_numpy(obs_np)
            buf_val[T] = model.value(obs)
            # GAE. A terminal step does not bootstrap; the autoreset step after it is masked out and
            # never referenced (its predecessor is terminal); a truncated rollout bootstraps.
            adv = torch.zeros(T, n)
            last = torch.zeros(n)
            for t in reversed(range(T)):
                nonterminal = 1.0 - buf_term[t]
                delta = buf_rew[t] + args.gamma * buf_val[t + 1] * nonterminal - buf_val[t]
                last = (delta + args.gamma * args.lam * nonterminal * last) * buf_valid[t]
                adv[t] = last
            ret = adv + buf_val[:T]
        mask = buf_valid.reshape(-1).bool()
        b_obs, b_act = buf_obs.reshape(-1, obs_dim)[mask], buf_act.reshape(-1, act_dim)[mask]
        b_logp, b_adv, b_ret = buf_logp.reshape(-1)[mask], adv.reshape(-1)[mask], ret.reshape(-1)[mask]
        b_adv = (b_adv - b_adv.mean()) / (b_adv.std() + 1e-8)
        for _ in range(args.epochs):
            for idx in torch.randperm(len(b_obs)).split(args.minibatch):
                d = model.dist(b_obs[idx])
                ratio = (d.log_prob(b_act[idx]).sum(-1) - b_logp[idx]).exp()
                pg = -torch.min(ratio * b_adv[idx], ratio.clamp(1 - args.clip, 1 + args.clip) * b_adv[idx]).mean()
                v_loss = (model.value(b_obs[idx]) - b_ret[idx]).pow(2).mean()
                loss = pg + 0.5 * v_loss - args.ent_coef * d.entropy().sum(-1).mean()
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), 0.5)
                opt.step()
        if it % max(1, args.iterations // 10) == 0 or it == args.iterations:
            recent = np.mean(finished[-4 * n :]) if finished else float("nan")
            print(
                f"iter {it:4d}/{args.iterations}  episodes {len(finished):6d}  mean return (recent) {recent:7.3f}  "
                f"std {model.log_std.exp().mean().item():.3f}  {time.monotonic() - t_start:6.1f} s",
                flush=True,
            )


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
    p.add_argument("--num-envs", type=int, default=32)
    p.add_argument("--eval-envs", type=int, default=64, help="held-out episodes per evaluated policy")
    p.add_argument("--iterations", type=int, default=250)
    p.add_argument("--rollout", type=int, default=32, help="steps per env per iteration")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--minibatch", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--gamma", type=float, default=0.99)
    p.add_argument("--lam", type=float, default=0.95)
    p.add_argument("--clip", type=float, default=0.2)
    p.add_argument("--ent-coef", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=2000, help="simulation steps per episode")
    p.add_argument("--epoch-len", type=int, default=500)
    p.add_argument("--decision-interval", type=int, default=100)
    p.add_argument("--fee-max-bps", type=float, default=500.0)
    p.add_argument("--opponents", nargs="+", default=["starter"])
    p.add_argument("--save", type=Path, help="write the trained model's state_dict here")
    args = p.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)  # leave the other core to the server
    rng = np.random.default_rng(args.seed)
    server = None
    address = args.address
    if args.serve:
        server, address = start_server()
    config: dict[str, Any] = {
        "opponents": args.opponents,
        "decision_interval": args.decision_interval,
        "fee_min_bps": 0.0,
        "fee_max_bps": args.fee_max_bps,
        "sim": {"steps": args.steps, "epoch_len": args.epoch_len},
    }
    try:
        with (
            PropAmmVectorEnv(args.num_envs, address, list_infos=True, **config) as envs,
            PropAmmVectorEnv(args.eval_envs, address, list_infos=True, **config) as eval_envs,
        ):
            print(f"server {envs.server_info['server']} at {address}; config {config}")
            obs_dim = envs.single_observation_space.shape[0]
            act_dim = envs.single_action_space.shape[0]
            model = ActorCritic(obs_dim, act_dim)
            ne = eval_envs.num_envs

            def random_policy(_obs: np.ndarray) -> np.ndarray:
                return rng.uniform(-1, 1, size=(ne, act_dim)).astype(np.float32)

            r_random = evaluate(eval_envs, random_policy, EVAL_SEED)
            r_untrained = evaluate(eval_envs, model.act_mean, EVAL_SEED)
            t0 = time.monotonic()
            train(args, envs, model)
            train_s = time.monotonic() - t0
            r_trained = evaluate(eval_envs, model.act_mean, EVAL_SEED)
            fees = (model.act_mean(eval_envs.reset(seed=EVAL_SEED)[0]) + 1) / 2 * args.fee_max_bps

        def line(name: str, r: np.ndarray) -> str:
            return f"  {name:18s} mean return {r.mean():8.4f}  (s.e. {r.std(ddof=1) / np.sqrt(len(r)):.4f})"

        d = r_trained - r_random
        print(f"\ntrained for {train_s:.0f} s; held-out evaluation on {ne} seeds from {EVAL_SEED}:")
        print(line("random policy", r_random))
        print(line("untrained policy", r_untrained))
        print(line("trained policy", r_trained))
        print(f"  trained - random: {d.mean():+.4f} (paired s.e. {d.std(ddof=1) / np.sqrt(len(d)):.4f})")
        print(
            f"  trained policy's first fees (bps, mean over seeds): {[round(float(f), 1) for f in fees.mean(axis=0)]}"
        )
        if args.save:
            torch.save(model.state_dict(), args.save)
            print(f"saved {args.save}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
