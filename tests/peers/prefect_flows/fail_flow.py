"""Flow `fail-flow`: task `boom` logs "boom: about to fail" and raises
ValueError("kaboom: intentional failure 42"); the flow run ends FAILED. Run as
a script: one run (the script then exits non-zero with the traceback)."""

from prefect import flow, get_run_logger, task


@task
def boom() -> None:
    get_run_logger().info("boom: about to fail")
    raise ValueError("kaboom: intentional failure 42")


@flow(name="fail-flow")
def fail_flow() -> None:
    boom()


if __name__ == "__main__":
    fail_flow()
