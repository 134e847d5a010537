"""One runner process serving three deployments (no work pool, no worker):
`ok-deploy` (ok-flow, parameters {"n": 2}), `long-deploy` (long-flow) and
`fail-deploy` (fail-flow). A flow run created from one of them is started by
this process as a subprocess; the runner polls every PREFECT_RUNNER_POLL_FREQUENCY
seconds (tests/peers/prefect.rs sets 1). Runs until killed."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from prefect import serve  # noqa: E402

from fail_flow import fail_flow  # noqa: E402
from long_flow import long_flow  # noqa: E402
from ok_flow import ok_flow  # noqa: E402

if __name__ == "__main__":
    serve(
        ok_flow.to_deployment(name="ok-deploy", parameters={"n": 2}),
        long_flow.to_deployment(name="long-deploy"),
        fail_flow.to_deployment(name="fail-deploy"),
    )
