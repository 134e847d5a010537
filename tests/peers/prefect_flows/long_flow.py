"""Flow `long-flow`: task `tick` logs "tick N" (N = 1..seconds) once a second
for `seconds` seconds, for cancel and server-restart tests. Run as a script:
one run of argv[1] seconds (default 20)."""

import sys
import time

from prefect import flow, get_run_logger, task


@task
def tick(seconds: int) -> int:
    logger = get_run_logger()
    for i in range(1, seconds + 1):
        logger.info(f"tick {i}")
        time.sleep(1)
    return seconds


@flow(name="long-flow")
def long_flow(seconds: int = 20) -> int:
    return tick(seconds)


if __name__ == "__main__":
    long_flow(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
