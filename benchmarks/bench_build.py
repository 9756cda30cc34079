"""Benchmark: the whole trajectory build (all phases, kernels written to a temp dir). Prints the median of runs.

Goal: <= 60 s on the 2-core reference machine. Run: python benchmarks/bench_build.py [runs]
"""

import statistics
import subprocess
import sys
import tempfile
import time


def main(runs: int = 3) -> None:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "viewer", "kernels", "build", "--out", tmp],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            times.append(time.perf_counter() - t0)
    print(
        f"kernels build: median {statistics.median(times):.1f} s over {runs} runs "
        f"(min {min(times):.1f}, max {max(times):.1f}); goal <= 60 s"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
