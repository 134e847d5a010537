"""Runs a command (argv[1:]) as a child in this process group and kills the
whole group when stdin closes, so that a test process killed before its drops
ran (Ctrl-C on `cargo test`, a SIGKILL) leaves no Prefect server or runner
behind: tests/peers/prefect.rs holds the write end of the pipe.

SIGTERM and SIGINT sent to the group are for the command: this process ignores
them, waits for the command and exits with its status (128 + N for signal N).
"""

import os
import signal
import subprocess
import sys
import threading


def main() -> None:
    child = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.read(0, 4096):
            pass
        os.killpg(0, signal.SIGKILL)

    threading.Thread(target=watch, daemon=True).start()
    code = child.wait()
    # _exit: no interpreter shutdown while the watcher blocks in read.
    os._exit(code if code >= 0 else 128 - code)


if __name__ == "__main__":
    main()
