"""Flow `ok-flow`: three tasks in sequence (extract, transform, load), each
logging a recognisable line; `transform` logs non-ASCII text. Returns
{"loaded": n, "total": sum of 0..n-1 doubled}. Run as a script: one run with n=3
(or argv[1])."""

import sys

from prefect import flow, get_run_logger, task


@task
def extract(n: int) -> list[int]:
    get_run_logger().info(f"extract: {n} rows")
    return list(range(n))


@task
def transform(rows: list[int]) -> list[int]:
    get_run_logger().info("transform: naïve ✓ 日本")
    return [r * 2 for r in rows]


@task
def load(rows: list[int]) -> int:
    get_run_logger().info(f"load: {len(rows)} rows loaded")
    return sum(rows)


@flow(name="ok-flow")
def ok_flow(n: int = 3) -> dict:
    get_run_logger().info(f"ok-flow starting with n={n}")
    total = load(transform(extract(n)))
    return {"loaded": n, "total": total}


if __name__ == "__main__":
    ok_flow(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
