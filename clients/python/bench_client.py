"""Protocol overhead: steps per second from Python over loopback on a trivial env.

    python3 bench_client.py [URL] [SECONDS]

Steps Chain (length 64: an episode ends every 63 steps, and the reset is counted in the time) with
the always-valid action 1, for SECONDS (default 3) after a short warm-up, and prints steps/s and
the mean round trip.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from selfopt_client import SelfoptEnv  # noqa: E402


def main():
    url = sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:8765/v1"
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
    env = SelfoptEnv("chain", {"length": 64, "horizon": 1 << 30}, url=url, token=os.environ.get("SELFOPT_TOKEN"))
    env.reset(seed=1)

    def run(duration):
        steps, t0 = 0, time.perf_counter()
        while True:
            for _ in range(100):
                obs, reward, terminated, truncated, info = env.step(1)
                steps += 1
                if terminated or truncated:
                    env.reset()
            t = time.perf_counter() - t0
            if t >= duration:
                return steps, t

    run(0.3)  # warm-up
    steps, t = run(seconds)
    env.close()
    print(f"{steps / t:.0f} steps/s ({steps} steps in {t:.2f} s, {1e6 * t / steps:.1f} us per step round trip)")


if __name__ == "__main__":
    main()
