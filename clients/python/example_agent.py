"""A random agent that respects the action mask: python3 example_agent.py [URL] [ENV] [OPTIONS_JSON]

Start a server first (`selfopt serve`), then e.g.
    python3 clients/python/example_agent.py ws://127.0.0.1:8765/v1 chain '{"length": 6, "slip": 0.1}'
"""
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from selfopt_client import SelfoptEnv  # noqa: E402


def allowed_actions(action_space, info):
    """The valid actions now: the mask's ones for a MaskedDiscrete space, all of them for Discrete."""
    n = action_space["n"]
    start = action_space.get("start", 0)
    mask = info.get("actionMask")
    return [start + i for i in range(n) if mask is None or mask[i] == 1]


def main():
    url = sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:8765/v1"
    name = sys.argv[2] if len(sys.argv) > 2 else "chain"
    options = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    rng = random.Random(0)
    env = SelfoptEnv(name, options, url=url, token=os.environ.get("SELFOPT_TOKEN"))
    try:
        for episode in range(3):
            obs, info = env.reset(seed=episode)
            ret, steps, done = 0.0, 0, False
            while not done:
                a = rng.choice(allowed_actions(env.action_space_json, info))
                obs, reward, terminated, truncated, info = env.step(a)
                ret += reward
                steps += 1
                done = terminated or truncated
            print(f"episode {episode}: return {ret:.4f} in {steps} steps ({'terminated' if terminated else 'truncated'})")
    finally:
        env.close()


if __name__ == "__main__":
    main()
