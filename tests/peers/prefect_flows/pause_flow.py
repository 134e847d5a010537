"""Flow `pause-flow`: logs a line, pauses itself (Prefect's `pause_flow_run`,
polling for a resume every second, timing out after 120 s), then logs
another and ends. Resumed from opsdeck (an approval) or Prefect's UI."""

from prefect import flow, get_run_logger
from prefect.flow_runs import pause_flow_run


@flow(name="pause-flow")
def pause_flow() -> str:
    get_run_logger().info("before the pause")
    pause_flow_run(timeout=120, poll_interval=1)
    get_run_logger().info("after the pause")
    return "resumed"


if __name__ == "__main__":
    pause_flow()
