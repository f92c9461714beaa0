"""A worker that can't recover says so by exiting non-zero, so its supervisor restarts it."""

import os
import subprocess
import sys
import time

from tests import processes


def test_a_worker_whose_database_never_comes_back_exits_non_zero():
    # Nothing listens on this port: the tasks thread crashes at every restart.
    dead = f"postgres://postgres@127.0.0.1:{processes.free_port()}/banditore"
    env = {**os.environ, "DATABASE_URL": dead, "WORKER_GIVE_UP_SECONDS": "3"}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "banditore", "worker"],
        cwd=processes.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    assert time.monotonic() - started < 40
    assert "giving up" in done.stderr
