"""An SMTP server for the email tests (tests/peers/smtp.rs): aiosmtpd (pinned
by .ci/test) on 127.0.0.1 with a port the kernel picks, writing each message
it accepts to a folder as JSON ({"mail_from", "rcpt_tos", "data"}).

    python smtp_sink.py --out DIR --ready FILE [--refuse ADDR]...
                        [--cert PEM --key PEM [--implicit]] [--user U --password P]

--ready FILE receives the port once the server listens (written to FILE.tmp,
then renamed). --refuse makes RCPT TO:<ADDR> answer 550 (the reply does not
name the address: the client must know which it asked for). --cert/--key
turn on STARTTLS, which is then required (with --implicit: TLS from the first
byte instead, as on port 465); --user/--password turn on AUTH
PLAIN and LOGIN (only after STARTTLS), any other login answered 535. The
process exits when its stdin closes, so a test killed before its cleanup
leaves no server behind.
"""

import argparse
import asyncio
import json
import os
import socket
import ssl
import sys
import threading

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Sink:
    def __init__(self, out, refuse):
        self.out = out
        self.refuse = {a.lower() for a in refuse}
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": envelope.content.decode("utf-8", errors="replace"),
        }
        path = os.path.join(self.out, "%06d.json" % self.count)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        return "250 Message accepted for delivery"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--ready", required=True)
    p.add_argument("--refuse", action="append", default=[])
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--implicit", action="store_true")
    p.add_argument("--user")
    p.add_argument("--password")
    args = p.parse_args()

    kwargs = {"hostname": "opsdeck-sink", "ident": "opsdeck test sink"}
    implicit = None
    if args.cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.cert, args.key)
        if args.implicit:
            implicit = ctx
        else:
            kwargs.update(tls_context=ctx, require_starttls=True)
    if args.user is not None:
        want = (args.user.encode(), (args.password or "").encode())

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == want
            # handled=False: aiosmtpd answers 535 5.7.8 itself on failure.
            return AuthResult(success=ok, handled=False)

        kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=True)

    handler = Sink(args.out, args.refuse)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    server = loop.run_until_complete(
        loop.create_server(lambda: SMTP(handler, loop=loop, **kwargs), sock=sock, ssl=implicit)
    )
    with open(args.ready + ".tmp", "w") as f:
        f.write(str(sock.getsockname()[1]))
    os.rename(args.ready + ".tmp", args.ready)

    def watch():
        sys.stdin.buffer.read()
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    main()
