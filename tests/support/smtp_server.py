#!/usr/bin/env python3
"""A real, independent SMTP server for postscope's integration tests.

Built on aiosmtpd (1.4.x).  It binds an ephemeral port on HOST, prints exactly
one line ``PORT <n>`` on stdout, and serves until its stdin reaches EOF (the
Rust test harness holds stdin open as a pipe and closes it to stop the server,
so an aborted test run never leaves a server behind) or until SIGTERM/SIGINT.

Modes:
  plain     no TLS at all; STARTTLS is not offered.
  starttls  STARTTLS offered and required before anything but EHLO/NOOP/QUIT.
  implicit  the listening socket itself speaks TLS (SMTPS / "SSL on connect").

With --user/--password, AUTH PLAIN and AUTH LOGIN are offered (in plain mode
over the clear connection, so tests can check that the client refuses to use
it) and authentication is required before MAIL; only that pair succeeds.
Without --user, AUTH is not advertised and not required.

With --dsn, DSN (RFC 3461) is advertised, which aiosmtpd itself does not
know: RET and ENVID on MAIL, NOTIFY and ORCPT on RCPT are taken off the
command before aiosmtpd parses it and recorded exactly as they came.

Every accepted message is written to --maildir as NNNN.eml (the raw
dot-unstuffed DATA bytes) and then NNNN.json (envelope: mail_from, with the
null reverse-path as "", rcpt_tos, size, and with --dsn "dsn": {"mail":
{"RET": .., "ENVID": ..}, "rcpt": [{"NOTIFY": .., "ORCPT": ..} per accepted
recipient]}, only the parameters given), each atomically; a reader that
sees NNNN.json can rely on NNNN.eml being complete.
"""

import argparse
import asyncio
import functools
import json
import logging
import os
import signal
import ssl
import sys
import threading
import warnings

try:
    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
except ImportError as exc:  # pragma: no cover - environment problem
    sys.stderr.write(
        f"smtp_server.py: cannot import aiosmtpd with {sys.executable}: {exc}\n"
        "Run `bash scripts/test.sh` (it installs aiosmtpd into .venv).\n"
    )
    sys.exit(2)

HOSTNAME = "aiosmtpd.test"
DATA_SIZE_LIMIT = 64 * 1024 * 1024

log = logging.getLogger("smtp_server")


def _text(value):
    """Make an address JSON-safe (aiosmtpd uses surrogateescape for 8-bit input)."""
    if value is None:
        return None
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def take_params(arg, names):
    """Splits the DSN parameters `names` off a MAIL or RCPT argument: returns
    the argument without them and a dict of those found, values as sent."""
    kept, taken = [], {}
    for word in (arg or "").split(" "):
        name, eq, value = word.partition("=")
        if eq and name.upper() in names:
            taken[name.upper()] = value
        else:
            kept.append(word)
    return " ".join(kept), taken


class DsnSMTP(SMTP):
    """aiosmtpd's server, with RFC 3461's parameters accepted and recorded."""

    # wraps: keeps the HELP syntax aiosmtpd attached to its own methods.
    @functools.wraps(SMTP.smtp_MAIL)
    async def smtp_MAIL(self, arg):
        rest, taken = take_params(arg, {"RET", "ENVID"})
        if taken.get("RET", "FULL").upper() not in ("FULL", "HDRS"):
            await self.push("501 5.5.4 RET must be FULL or HDRS")
            return
        await super().smtp_MAIL(rest)
        if self.envelope.mail_from is not None:
            self.envelope.dsn = {"mail": taken, "rcpt": []}

    @functools.wraps(SMTP.smtp_RCPT)
    async def smtp_RCPT(self, arg):
        rest, taken = take_params(arg, {"NOTIFY", "ORCPT"})
        before = len(self.envelope.rcpt_tos)
        await super().smtp_RCPT(rest)
        dsn = getattr(self.envelope, "dsn", None)
        if dsn is not None and len(self.envelope.rcpt_tos) > before:
            dsn["rcpt"].append(taken)


class Handler:
    def __init__(self, maildir, refuse_rcpt, credentials, dsn):
        self.maildir = maildir
        self.refuse_rcpt = {addr.lower() for addr in refuse_rcpt}
        self.credentials = credentials  # (bytes, bytes) or None
        self.dsn = dsn
        self.counter = 0

    # 5-argument form: we get the reply lines and return the ones to send.
    # With this form aiosmtpd leaves session.host_name to the hook.
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.credentials is None:
            responses = [r for r in responses if not r[4:].upper().startswith("AUTH")]
        if self.dsn:
            responses.insert(len(responses) - 1, "250-DSN")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse_rcpt:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or b""
        if self.maildir is not None:
            self._store(envelope, raw)
        log.info(
            "accepted message from %r to %r (%d bytes)",
            envelope.mail_from,
            envelope.rcpt_tos,
            len(raw),
        )
        return "250 2.0.0 OK: queued"

    def _store(self, envelope, raw):
        while True:
            self.counter += 1
            stem = os.path.join(self.maildir, f"{self.counter:04d}")
            if not os.path.exists(stem + ".json") and not os.path.exists(stem + ".eml"):
                break
        mail_from = envelope.mail_from
        if mail_from == "<>":  # aiosmtpd keeps the null reverse-path as "<>"
            mail_from = ""
        meta = {
            "mail_from": _text(mail_from),
            "rcpt_tos": [_text(r) for r in envelope.rcpt_tos],
            "size": len(raw),
        }
        dsn = getattr(envelope, "dsn", None)
        if self.dsn and dsn is not None:
            meta["dsn"] = dsn
        _write_atomic(stem + ".eml", raw)
        _write_atomic(stem + ".json", json.dumps(meta).encode("utf-8"))


def _write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def make_authenticator(user, password):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user
            and auth_data.password == password
        )
        # handled=False makes aiosmtpd send its "535 5.7.8" reply itself; with
        # the default handled=True a failure would get no reply at all.
        if ok:
            return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)

    return authenticator


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--mode", choices=("plain", "starttls", "implicit"), default="plain")
    p.add_argument("--cert", help="PEM certificate chain (leaf first) for TLS modes")
    p.add_argument("--key", help="PEM private key for TLS modes")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--refuse-rcpt", action="append", default=[], metavar="ADDR")
    p.add_argument("--maildir")
    p.add_argument("--dsn", action="store_true", help="advertise DSN and record its parameters")
    p.add_argument(
        "--ignore-stdin",
        action="store_true",
        help="do not stop on stdin EOF (for running by hand); stop with SIGTERM/Ctrl-C",
    )
    args = p.parse_args(argv)
    if args.mode != "plain" and not (args.cert and args.key):
        p.error(f"--mode {args.mode} needs --cert and --key")
    if (args.user is None) != (args.password is None):
        p.error("--user and --password go together")
    return args


async def serve(args):
    loop = asyncio.get_running_loop()

    tls = None
    if args.mode != "plain":
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.cert, args.key)

    credentials = None
    if args.user is not None:
        credentials = (args.user.encode("utf-8"), args.password.encode("utf-8"))
    if args.maildir is not None:
        os.makedirs(args.maildir, exist_ok=True)

    handler = Handler(args.maildir, args.refuse_rcpt, credentials, args.dsn)
    server_class = DsnSMTP if args.dsn else SMTP

    kwargs = dict(
        data_size_limit=DATA_SIZE_LIMIT,
        enable_SMTPUTF8=True,
        decode_data=False,
        hostname=HOSTNAME,
        auth_required=credentials is not None,
        loop=loop,
    )
    if credentials is not None:
        kwargs["authenticator"] = make_authenticator(*credentials)

    server_ssl = None
    if args.mode == "plain":
        # Without TLS, AUTH is only advertised if it need not wait for TLS.
        kwargs["auth_require_tls"] = credentials is None
    elif args.mode == "starttls":
        kwargs.update(tls_context=tls, require_starttls=True, auth_require_tls=True)
    else:  # implicit: aiosmtpd only knows STARTTLS, so it must not insist on it.
        kwargs["auth_require_tls"] = False
        server_ssl = tls

    server = await loop.create_server(
        lambda: server_class(handler, **kwargs), args.host, 0, ssl=server_ssl
    )
    port = server.sockets[0].getsockname()[1]
    log.info("listening on %s port %d, mode %s", args.host, port, args.mode)
    sys.stdout.write(f"PORT {port}\n")
    sys.stdout.flush()

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    if not args.ignore_stdin and sys.stdin is None:
        stop.set()  # stdin closed altogether: as good as EOF
    elif not args.ignore_stdin:
        fd = sys.stdin.fileno()

        def watch_stdin():
            # os.read on the raw fd, not sys.stdin: a daemon thread blocked in
            # a buffered read would abort the interpreter at shutdown.
            try:
                while os.read(fd, 4096):
                    pass
            except Exception:  # noqa: BLE001 - any failure means "stop"
                pass
            loop.call_soon_threadsafe(stop.set)

        threading.Thread(target=watch_stdin, name="stdin-watch", daemon=True).start()

    await stop.wait()
    log.info("stopping")
    server.close()
    try:
        await asyncio.wait_for(server.wait_closed(), 2)
    except asyncio.TimeoutError:
        pass


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    # Plain+AUTH and implicit TLS both (deliberately) set auth_require_tls=False;
    # aiosmtpd warns about that on every connection.
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    logging.getLogger("mail.log").addFilter(
        lambda rec: "auth_require_tls == False" not in rec.getMessage()
    )
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
