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

With --oauth-issuer URL, AUTH XOAUTH2 (Google's) and AUTH OAUTHBEARER
(RFC 7628) are offered instead (PLAIN and LOGIN only if --user is given too)
and authentication is required before MAIL.  The bearer token must be a JWT
access token from that issuer: its RS256 signature is checked against the
JWKS named by <issuer>/.well-known/openid-configuration (both fetched once
and cached; refetched once for an unknown kid), and so are `iss` == issuer,
`aud` containing --oauth-audience (default urn:postscope:smtp), `exp` in the
future, `smtp` in `scope`, and the SASL user == the token's `email` claim
(OAUTHBEARER may leave the user out; then `email` is the user).  A failure is
answered as the mechanism's RFC says: a 334 with the base64 JSON error
(Google's form for XOAUTH2), the client's dummy reply, then 535; the reason
goes to stderr.  AUTH lines may then be as long as RFC 4954's 12288 octets
(aiosmtpd's own limit is 512).  Needs PyJWT and cryptography in the same Python.

With --dsn, DSN (RFC 3461) is advertised, which aiosmtpd itself does not
know: RET and ENVID on MAIL, NOTIFY and ORCPT on RCPT are taken off the
command before aiosmtpd parses it and recorded exactly as they came.

Every accepted message is written to --maildir as NNNN.eml (the raw
dot-unstuffed DATA bytes) and then NNNN.json (envelope: mail_from, with the
null reverse-path as "", rcpt_tos, size, and with --dsn "dsn": {"mail":
{"RET": .., "ENVID": ..}, "rcpt": [{"NOTIFY": .., "ORCPT": ..} per accepted
recipient]}, only the parameters given, and after an OAuth login "auth":
{"mechanism": .., "user": .., "sub": ..}), each atomically; a reader that
sees NNNN.json can rely on NNNN.eml being complete.
"""

import argparse
import asyncio
import base64
import binascii
import collections
import functools
import json
import logging
import os
import signal
import ssl
import sys
import threading
import urllib.request
import warnings
from typing import NamedTuple

try:
    from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword
except ImportError as exc:  # pragma: no cover - environment problem
    sys.stderr.write(
        f"smtp_server.py: cannot import aiosmtpd with {sys.executable}: {exc}\n"
        "Run `bash scripts/test.sh` (it installs aiosmtpd into .venv).\n"
    )
    sys.exit(2)

try:  # only --oauth-issuer needs PyJWT (with cryptography, for RS256)
    import jwt
except ImportError as exc:  # pragma: no cover - checked when the option is used
    jwt = None
    JWT_IMPORT_ERROR = exc

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


class OAuthLogin(NamedTuple):
    """session.auth_data after a successful XOAUTH2 / OAUTHBEARER login."""

    mechanism: str
    user: str
    sub: str


class TokenError(Exception):
    """Why a bearer token was refused (logged, never sent to the client)."""


class TokenVerifier:
    """Checks JWT access tokens from one OpenID Connect issuer."""

    def __init__(self, issuer, audience):
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self.discovery_url = self.issuer + "/.well-known/openid-configuration"
        self._jwks_uri = None
        self._keys = {}  # kid -> PyJWK

    @staticmethod
    def _get_json(url):
        with urllib.request.urlopen(url, timeout=5) as resp:
            return json.load(resp)

    async def _key(self, kid):
        """The signing key `kid`, fetching discovery and JWKS when not cached."""
        if kid not in self._keys:
            try:
                if self._jwks_uri is None:
                    config = await asyncio.to_thread(self._get_json, self.discovery_url)
                    self._jwks_uri = config["jwks_uri"]
                jwks = await asyncio.to_thread(self._get_json, self._jwks_uri)
                keys = jwt.PyJWKSet.from_dict(jwks).keys
            except Exception as exc:  # noqa: BLE001 - any failure refuses the token
                raise TokenError(f"cannot load the issuer's keys: {exc!r}") from exc
            self._keys = {k.key_id: k for k in keys if k.key_id}
        if kid not in self._keys:
            raise TokenError(f"no key {kid!r} in the issuer's JWKS")
        return self._keys[kid]

    async def verify(self, token, user):
        """The token's claims, or TokenError.  `user` None: not checked."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise TokenError(f"not a JWT: {exc}") from exc
        if header.get("alg") != "RS256":
            raise TokenError(f"alg {header.get('alg')!r} is not RS256")
        key = await self._key(header.get("kid"))
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
                leeway=0,
            )
        except jwt.PyJWTError as exc:
            raise TokenError(f"{type(exc).__name__}: {exc}") from exc
        scopes = str(claims.get("scope", "")).split()
        if "smtp" not in scopes:
            raise TokenError(f"scope {claims.get('scope')!r} lacks smtp")
        email = claims.get("email")
        if not email:
            raise TokenError("token has no email claim")
        if user is not None and user != email:
            raise TokenError(f"user {user!r} is not the token's email {email!r}")
        return claims


def _kv_pairs(fields):
    """RFC 7628 key=value fields (bytes) as a dict of str."""
    out = {}
    for field in fields:
        key, eq, value = field.partition(b"=")
        if eq:
            out[key.decode("ascii", "replace").lower()] = value.decode("utf-8", "replace")
    return out


def parse_xoauth2(blob):
    """`user=U\x01auth=Bearer T\x01\x01` -> (user, token or None); ValueError
    without user=."""
    kv = _kv_pairs(blob.split(b"\x01"))
    if not kv.get("user"):
        raise ValueError("no user= in the XOAUTH2 message")
    scheme, _, token = kv.get("auth", "").partition(" ")
    return kv.get("user"), (token.strip() if scheme.lower() == "bearer" else None)


def parse_oauthbearer(blob):
    """GS2 header `n,a=U,` then `\x01host=..\x01port=..\x01auth=Bearer T\x01\x01`
    -> (user or None, token or None); ValueError if the GS2 header is wrong."""
    gs2, _, rest = blob.partition(b"\x01")
    parts = gs2.split(b",")
    if len(parts) < 3 or parts[0] not in (b"n", b"y") or parts[2] != b"":
        raise ValueError(f"bad GS2 header {gs2!r}")
    user = None
    if parts[1].startswith(b"a="):
        user = parts[1][2:].decode("utf-8", "replace").replace("=2C", ",").replace("=3D", "=")
    elif parts[1]:
        raise ValueError(f"bad GS2 authzid {parts[1]!r}")
    kv = _kv_pairs(rest.split(b"\x01"))
    scheme, _, token = kv.get("auth", "").partition(" ")
    return user, (token.strip() if scheme.lower() == "bearer" else None)


def _b64json(obj):
    return base64.b64encode(json.dumps(obj, separators=(",", ":")).encode()).decode()


class OAuthSMTP(SMTP):
    """aiosmtpd's server with AUTH XOAUTH2 and AUTH OAUTHBEARER, checked by the
    handler's TokenVerifier (aiosmtpd finds auth_* methods by name)."""

    # A bearer token makes AUTH lines far longer than aiosmtpd's 512-octet
    # command limit and its 1001-octet stream limit; RFC 4954 §4 allows 12288.
    AUTH_LINE_LIMIT = 12288

    def __init__(self, *args, **kwargs):
        # SMTP.__init__ sizes its StreamReader from line_length_limit: raise it
        # just for that, so that DATA keeps checking RFC 5321's 1001 octets.
        self.line_length_limit = self.AUTH_LINE_LIMIT + 2
        super().__init__(*args, **kwargs)
        del self.line_length_limit
        # Our own table (aiosmtpd's is shared by the class), other limits as before.
        self.command_size_limits = collections.defaultdict(
            lambda: SMTP.command_size_limit, AUTH=self.AUTH_LINE_LIMIT
        )

    async def _sasl_response(self, args):
        """The client's SASL message (bytes): the initial response, or asked
        for with an empty 334.  None when a 501 has already been sent."""
        if len(args) == 1:
            blob = await self.challenge_auth("")
            return None if blob is MISSING else blob
        if args[1] == "=":  # RFC 4954: an empty initial response
            return b""
        try:
            return base64.b64decode(args[1], validate=True)
        except binascii.Error:
            await self.push("501 5.5.2 Can't decode base64")
            return None

    async def _oauth(self, mechanism, args, parse, error_json, final_reply, dummy):
        blob = await self._sasl_response(args)
        if blob is None:
            return AuthResult(success=False, handled=True)
        user = None
        try:
            user, token = parse(blob)
            if not token:
                raise TokenError("no auth=Bearer token in the SASL message")
            claims = await self.event_handler.oauth.verify(token, user)
        except (TokenError, ValueError) as exc:
            log.warning("AUTH %s refused for %r: %s", mechanism, user, exc)
            # RFC 7628 §3.2.2: the error as a 334 challenge; the client answers
            # with a dummy response, and the failure reply follows.
            await self.push("334 " + error_json)
            line = await self._reader.readline()
            if not line:
                return AuthResult(success=False, handled=True)  # connection gone
            if line.rstrip(b"\r\n") != dummy:
                log.warning("AUTH %s: expected %r after the error, got %r", mechanism, dummy, line)
            return AuthResult(success=False, handled=False, message=final_reply)
        login = OAuthLogin(mechanism, user or claims["email"], claims["sub"])
        log.info("AUTH %s ok: user %r sub %r", mechanism, login.user, login.sub)
        return AuthResult(success=True, auth_data=login)

    async def auth_XOAUTH2(self, _, args):
        return await self._oauth(
            "XOAUTH2",
            args,
            parse_xoauth2,
            _b64json({"status": "401", "schemes": "Bearer", "scope": "https://mail.google.com/"}),
            "535 5.7.8 Username and Password not accepted",
            b"",
        )

    async def auth_OAUTHBEARER(self, _, args):
        verifier = self.event_handler.oauth
        return await self._oauth(
            "OAUTHBEARER",
            args,
            parse_oauthbearer,
            _b64json(
                {
                    "status": "invalid_token",
                    "scope": "smtp",
                    "openid-configuration": verifier.discovery_url,
                }
            ),
            "535 5.7.8 Authentication failed",
            b"AQ==",
        )


def server_class(dsn, oauth):
    """SMTP, or the subclass(es) for --dsn and --oauth-issuer combined."""
    bases = tuple(cls for cls, on in ((DsnSMTP, dsn), (OAuthSMTP, oauth)) if on)
    if not bases:
        return SMTP
    if len(bases) == 1:
        return bases[0]
    return type("DsnOAuthSMTP", bases, {})


class Handler:
    def __init__(self, maildir, refuse_rcpt, credentials, dsn, oauth=None):
        self.maildir = maildir
        self.refuse_rcpt = {addr.lower() for addr in refuse_rcpt}
        self.credentials = credentials  # (bytes, bytes) or None
        self.dsn = dsn
        self.oauth = oauth  # TokenVerifier or None
        self.counter = 0

    # 5-argument form: we get the reply lines and return the ones to send.
    # With this form aiosmtpd leaves session.host_name to the hook.
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.credentials is None and self.oauth is None:
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
            self._store(envelope, raw, session)
        log.info(
            "accepted message from %r to %r (%d bytes)",
            envelope.mail_from,
            envelope.rcpt_tos,
            len(raw),
        )
        return "250 2.0.0 OK: queued"

    def _store(self, envelope, raw, session):
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
        if isinstance(session.auth_data, OAuthLogin):
            meta["auth"] = session.auth_data._asdict()
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
        "--oauth-issuer",
        metavar="URL",
        help="offer AUTH XOAUTH2 and OAUTHBEARER, verifying JWT access tokens from this issuer",
    )
    p.add_argument(
        "--oauth-audience",
        metavar="AUD",
        default="urn:postscope:smtp",
        help="the `aud` an access token must have (default %(default)s)",
    )
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
    if args.oauth_issuer is not None and jwt is None:
        p.error(f"--oauth-issuer needs PyJWT and cryptography in {sys.executable}: {JWT_IMPORT_ERROR}")
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

    oauth = None
    if args.oauth_issuer is not None:
        oauth = TokenVerifier(args.oauth_issuer, args.oauth_audience)
    auth = credentials is not None or oauth is not None

    handler = Handler(args.maildir, args.refuse_rcpt, credentials, args.dsn, oauth)
    smtp_class = server_class(args.dsn, oauth is not None)

    kwargs = dict(
        data_size_limit=DATA_SIZE_LIMIT,
        enable_SMTPUTF8=True,
        decode_data=False,
        hostname=HOSTNAME,
        auth_required=auth,
        loop=loop,
    )
    if credentials is not None:
        kwargs["authenticator"] = make_authenticator(*credentials)
    elif oauth is not None:  # tokens only: no PLAIN / LOGIN
        kwargs["auth_exclude_mechanism"] = ["PLAIN", "LOGIN"]

    server_ssl = None
    if args.mode == "plain":
        # Without TLS, AUTH is only advertised if it need not wait for TLS.
        kwargs["auth_require_tls"] = not auth
    elif args.mode == "starttls":
        kwargs.update(tls_context=tls, require_starttls=True, auth_require_tls=True)
    else:  # implicit: aiosmtpd only knows STARTTLS, so it must not insist on it.
        kwargs["auth_require_tls"] = False
        server_ssl = tls

    server = await loop.create_server(
        lambda: smtp_class(handler, **kwargs), args.host, 0, ssl=server_ssl
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
