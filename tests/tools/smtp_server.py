#!/usr/bin/python3
"""A real SMTP server for the integration tests (aiosmtpd), run as a subprocess.

Every accepted message is written to --dir as NNNNNN.eml (the DATA bytes exactly
as received, CRLF kept) and then NNNNNN.json (envelope, AUTH user, TLS or not).
Both are written to a temporary name and renamed, the .json last, so a reader
that sees a .json also sees the whole .eml.

The bound port is written to --port-file (again tmp + rename) once the server
listens; SIGTERM or SIGINT stop it cleanly (exit code 0).
"""

import argparse
import asyncio
import json
import logging
import os
import signal
import ssl
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

HOST = "127.0.0.1"

# aiosmtpd 1.4 warns that Session.login_data is deprecated on every AUTH.
warnings.filterwarnings("ignore", category=DeprecationWarning)


def write_atomically(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


def as_text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


class Handler:
    def __init__(self, args):
        self.args = args
        self.count = 0
        existing = [n for n in os.listdir(args.dir) if n.endswith(".json")]
        # Restarted on the same directory: continue the numbering.
        for name in existing:
            try:
                self.count = max(self.count, int(name[:-5]))
            except ValueError:
                pass

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.args.reject_rcpt and self.args.reject_rcpt in address:
            return "550 5.1.1 mailbox unavailable"
        if self.args.tempfail_rcpt and self.args.tempfail_rcpt in address:
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.args.slow_data_ms:
            await asyncio.sleep(self.args.slow_data_ms / 1000.0)
            # A client that vanished before the answer (killed mid-DATA) has not been told
            # the mail was taken: keep nothing, as a server that queues only after its
            # answer went out would.
            transport = getattr(server, "transport", None)
            if transport is None or transport.is_closing():
                return "421 4.4.2 connection lost before the answer"
        data = envelope.original_content
        if data is None:
            data = envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", errors="surrogateescape")
        self.count += 1
        base = os.path.join(self.args.dir, "%06d" % self.count)
        auth_user = None
        if session.authenticated and isinstance(session.auth_data, LoginPassword):
            auth_user = as_text(session.auth_data.login)
        meta = {
            "mail_from": as_text(envelope.mail_from),
            "rcpt_tos": [as_text(r) for r in envelope.rcpt_tos],
            "auth_user": auth_user,
            "tls": bool(self.args.implicit_tls or session.ssl is not None),
        }
        write_atomically(base + ".eml", data)
        write_atomically(base + ".json", json.dumps(meta).encode("utf-8"))
        return "250 2.0.0 Message accepted for delivery"


def make_authenticator(args):
    user = args.user.encode("utf-8")
    password = args.password.encode("utf-8")

    def authenticate(server, session, envelope, mechanism, auth_data):
        if (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user
            and auth_data.password == password
        ):
            return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)

    return authenticate


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--dir", required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--implicit-tls", action="store_true")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--reject-rcpt")
    p.add_argument("--tempfail-rcpt")
    p.add_argument("--slow-data-ms", type=int, default=0)
    args = p.parse_args()

    if bool(args.cert) != bool(args.key):
        p.error("--cert and --key go together")
    if args.implicit_tls and not args.cert:
        p.error("--implicit-tls needs --cert and --key")
    if bool(args.user) != (args.password is not None):
        p.error("--user and --password go together")
    os.makedirs(args.dir, exist_ok=True)

    context = None
    if args.cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    handler = Handler(args)

    smtp_kwargs = dict(
        hostname="127.0.0.1",
        decode_data=False,
        enable_SMTPUTF8=True,
        timeout=30,
        data_size_limit=None,
        loop=loop,
    )
    if context is not None and not args.implicit_tls:
        smtp_kwargs.update(tls_context=context, require_starttls=True)
    if args.user:
        smtp_kwargs.update(
            authenticator=make_authenticator(args),
            auth_required=True,
            # With implicit TLS the whole connection is encrypted, but aiosmtpd only
            # counts STARTTLS: it would never offer AUTH.
            auth_require_tls=context is not None and not args.implicit_tls,
        )
        if args.implicit_tls:
            warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
            logging.getLogger("mail.log").setLevel(logging.ERROR)

    def factory():
        return SMTP(handler, **smtp_kwargs)

    server = loop.run_until_complete(
        loop.create_server(
            factory,
            host=HOST,
            port=args.port,
            ssl=context if args.implicit_tls else None,
            reuse_address=True,
        )
    )
    port = server.sockets[0].getsockname()[1]

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    if args.port_file:
        write_atomically(args.port_file, str(port).encode("ascii"))
    print("smtp_server listening on %s:%d" % (HOST, port), file=sys.stderr, flush=True)

    try:
        loop.run_until_complete(stop.wait())
    finally:
        server.close()
        try:
            loop.run_until_complete(asyncio.wait_for(server.wait_closed(), 2))
        except Exception:
            pass
        for task in asyncio.all_tasks(loop):
            task.cancel()
        try:
            loop.run_until_complete(asyncio.sleep(0))
        except Exception:
            pass
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
