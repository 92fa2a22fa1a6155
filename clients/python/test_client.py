"""Plays one seeded episode over the protocol and prints it as JSON, for test/server/python.test.ts.

    python3 test_client.py URL ENV OPTIONS_JSON EPISODE_SEED ACTION_SEED [MAX_STEPS]

Actions are drawn by random.Random(ACTION_SEED) among the valid ones (respecting the mask); the
test replays the printed actions in-process and compares every observation, reward and flag.
"""
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from example_agent import allowed_actions  # noqa: E402
from selfopt_client import SelfoptEnv, SelfoptProtocolError  # noqa: E402


def main():
    url, name, options = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    seed, action_seed = int(sys.argv[4]), int(sys.argv[5])
    max_steps = int(sys.argv[6]) if len(sys.argv) > 6 else 10000
    rng = random.Random(action_seed)
    env = SelfoptEnv(name, options, url=url, token=os.environ.get("SELFOPT_TOKEN"))
    obs, info = env.reset(seed=seed)
    out = {"observationSpace": env.observation_space_json, "actionSpace": env.action_space_json,
           "resetObs": obs, "resetMask": info.get("actionMask"), "steps": []}
    # An invalid action must be refused without changing the env (checked by the next steps matching).
    try:
        env.step(-1)
        out["invalidActionError"] = None
    except SelfoptProtocolError as e:
        out["invalidActionError"] = e.code
    for _ in range(max_steps):
        a = rng.choice(allowed_actions(env.action_space_json, info))
        obs, reward, terminated, truncated, info = env.step(a)
        out["steps"].append({"action": a, "obs": obs, "reward": reward, "terminated": terminated,
                             "truncated": truncated, "mask": info.get("actionMask")})
        if terminated or truncated:
            break
    env.close()
    # With gymnasium installed, Box observations are numpy arrays: print them as lists.
    json.dump(out, sys.stdout, default=lambda o: o.tolist())


if __name__ == "__main__":
    main()
