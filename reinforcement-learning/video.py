"""Record one episode of a policy as a GIF (``rgb_array`` rendering, written with imageio)."""
from __future__ import annotations

import os
from pathlib import Path

import imageio.v2 as imageio
import torch
from torch import nn

from kd.rl.environments import make_env
from kd.rl.teacher_model.actions import select_actions, to_env_actions


@torch.no_grad()
def record_gif(policy: nn.Module, env: dict, path: str | Path, seed: int, fps: int = 30, max_frames: int = 1000,
               device: str | torch.device = "cpu") -> tuple[Path, float]:
    """Play one greedy episode with seed ``seed``; save its frames (at most ``max_frames``); return (path, return)."""
    # rgb_array rendering opens no window: without this, pygame's SDL probes for a display and prints
    # "error: XDG_RUNTIME_DIR is invalid or not set" on a machine without one, though nothing failed
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    environment = make_env(env["name"], render_mode="rgb_array", **env.get("kwargs", {}))
    obs, _ = environment.reset(seed=seed)
    frames, total, done = [environment.render()], 0.0, False
    policy.eval()
    while not done:
        action = to_env_actions(select_actions(policy(torch.as_tensor(obs[None]).to(device)), True))[0]
        obs, reward, terminated, truncated, _ = environment.step(action)
        total += float(reward)
        done = terminated or truncated
        if len(frames) < max_frames:
            frames.append(environment.render())
    environment.close()
    imageio.mimsave(path, frames, duration=1000 / fps, loop=0)
    return Path(path), total
