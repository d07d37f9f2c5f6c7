#!/usr/bin/python3
"""smtp_flaky.py - an aiosmtpd SMTP server that injects temporary failures.

Also the TLS and AUTH server of the worker tests: with --tls-cert/--tls-key
it offers STARTTLS (or, with --implicit-tls, speaks TLS from the first byte,
as an smtps:// server), and with --auth USER:PASSWORD it requires AUTH
(PLAIN or LOGIN; over STARTTLS only after the upgrade, as aiosmtpd insists).

For the email throughput benchmark: a real SMTP server (aiosmtpd's SMTP
protocol class from the Debian package python3-aiosmtpd, run on an asyncio
loop) whose DATA handler

  * takes the Message-ID header of each message;
  * the FIRST time a Message-ID is seen, rejects it with
        451 4.3.0 injected temporary failure
    when a hash of (seed, Message-ID) falls below --tempfail-percent, so the
    same Message-IDs fail on every run with the same seed, whatever the
    order or concurrency of delivery;
  * accepts everything else with 250, including every later attempt of a
    Message-ID that was rejected once, and counts it.  A Message-ID that is
    accepted again is a duplicate (the client resent a delivered message).

Only the Message-ID sets are kept, never bodies.  Messages without a
Message-ID are accepted and counted as missing_message_id.

Usage:
  smtp_flaky.py --port N [--host 127.0.0.1] [--tempfail-percent 10]
                [--seed S] [--stats FILE] [--log FILE]
                [--tls-cert PEM --tls-key PEM [--implicit-tls]]
                [--auth USER:PASSWORD]

Prints "listening on HOST:PORT" (flushed) once it accepts connections.  With
--stats, writes the counters as JSON to FILE every second and on
SIGTERM/SIGINT (write to FILE.tmp, then rename), then exits with status 0.

Stats keys: accepted_total, accepted_distinct, duplicates (acceptances of an
already accepted Message-ID), duplicate_ids (distinct Message-IDs accepted
more than once), tempfails_injected, tempfailed_then_accepted,
tempfailed_pending (rejected, not yet resent), missing_message_id,
recipients_total, connections, first_accept_at / last_accept_at (unix time,
for computing a rate), started_at, updated_at, host, port, seed,
tempfail_percent, final (true in the copy written at exit); accepted_tls
(accepted over TLS), auth_ok, auth_failed.

With --log, every accepted message appends one JSON line to FILE:
{"message_id", "tls" (the TLS version, or null), "auth" (the user, or
null), "rcpt" (list)}.
"""

import signal

# A SIGTERM/SIGINT that arrives while the modules below load is remembered
# and honoured once the loop runs (a background job inherits SIGINT ignored,
# and TERM's default action would skip the final stats).
_early_signals = []
for _sig in (signal.SIGTERM, signal.SIGINT):
    signal.signal(_sig, lambda signum, frame: _early_signals.append(signum))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import ssl  # noqa: E402
import warnings  # noqa: E402

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword  # noqa: E402

# aiosmtpd 1.4 warns about its own use of Session.login_data on every AUTH,
# and about AUTH without STARTTLS even on an implicit TLS listener
warnings.filterwarnings("ignore", message="Session.login_data is deprecated")
warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
logging.getLogger("mail.log").setLevel(logging.ERROR)

TEMPFAIL_REPLY = "451 4.3.0 injected temporary failure"

# Message-ID header (possibly folded) within the header block
_MSGID_RE = re.compile(rb"^message-id[ \t]*:(.*(?:\r?\n[ \t].*)*)",
                       re.IGNORECASE | re.MULTILINE)
_HEADER_END_RE = re.compile(rb"\r?\n\r?\n")


def message_id_of(content):
    """Message-ID of a raw message (bytes), unfolded and stripped; None when
    the header section has no Message-ID."""
    end = _HEADER_END_RE.search(content)
    head = content[:end.start()] if end else content
    if head.startswith((b"\r\n", b"\n")):
        return None
    m = _MSGID_RE.search(head)
    if not m:
        return None
    value = re.sub(rb"\r?\n(?=[ \t])", b"", m.group(1)).strip()
    return value.decode("utf-8", "surrogateescape") or None


class FlakyHandler:
    def __init__(self, percent, seed, log=None):
        self.percent = float(percent)
        self.seed = str(seed)
        self.log = log
        self.accepted = set()       # Message-IDs accepted at least once
        self.duplicate_ids = set()  # ... accepted more than once
        self.tempfailed = set()     # rejected once, not yet resent
        self.seen = set()           # every Message-ID that reached DATA
        self.c = dict(accepted_total=0, duplicates=0, tempfails_injected=0,
                      tempfailed_then_accepted=0, missing_message_id=0,
                      recipients_total=0, connections=0, accepted_tls=0,
                      auth_ok=0, auth_failed=0)
        self.first_accept_at = None
        self.last_accept_at = None

    def tempfail_first_attempt(self, msgid):
        """Deterministic per (seed, Message-ID): True for ~percent %."""
        h = hashlib.sha256(
            (self.seed + "\0" + msgid).encode("utf-8", "surrogateescape"))
        bucket = int.from_bytes(h.digest()[:8], "big") % 1_000_000
        return bucket < self.percent * 10_000

    def _accept(self, server, session, envelope, msgid):
        now = time.time()
        if self.first_accept_at is None:
            self.first_accept_at = now
        self.last_accept_at = now
        self.c["accepted_total"] += 1
        self.c["recipients_total"] += len(envelope.rcpt_tos)
        tls = server.transport.get_extra_info("ssl_object")
        if tls is not None:
            self.c["accepted_tls"] += 1
        if self.log:
            auth = session.auth_data
            line = dict(message_id=msgid,
                        tls=tls.version() if tls is not None else None,
                        auth=auth.login.decode("utf-8", "replace")
                        if isinstance(auth, LoginPassword) else None,
                        rcpt=list(envelope.rcpt_tos))
            with open(self.log, "a") as f:
                f.write(json.dumps(line, sort_keys=True) + "\n")
        return "250 2.0.0 OK"

    def authenticator(self, user, password):
        """aiosmtpd's authenticator callback for --auth USER:PASSWORD"""
        def check(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword) and
                  auth_data.login == user and auth_data.password == password)
            self.c["auth_ok" if ok else "auth_failed"] += 1
            return AuthResult(success=ok, auth_data=auth_data if ok else None,
                              handled=False)
        return check

    async def handle_DATA(self, server, session, envelope):
        msgid = message_id_of(envelope.content or b"")
        if msgid is None:
            self.c["missing_message_id"] += 1
            return self._accept(server, session, envelope, msgid)
        if msgid in self.accepted:
            self.c["duplicates"] += 1
            self.duplicate_ids.add(msgid)
            return self._accept(server, session, envelope, msgid)
        if msgid in self.tempfailed:
            self.tempfailed.discard(msgid)
            self.c["tempfailed_then_accepted"] += 1
        elif msgid not in self.seen:
            self.seen.add(msgid)
            if self.tempfail_first_attempt(msgid):
                self.tempfailed.add(msgid)
                self.c["tempfails_injected"] += 1
                return TEMPFAIL_REPLY
        self.accepted.add(msgid)
        return self._accept(server, session, envelope, msgid)

    def stats(self, **extra):
        d = dict(self.c)
        d.update(accepted_distinct=len(self.accepted),
                 duplicate_ids=len(self.duplicate_ids),
                 tempfailed_pending=len(self.tempfailed),
                 first_accept_at=self.first_accept_at,
                 last_accept_at=self.last_accept_at,
                 updated_at=time.time())
        d.update(extra)
        return d


class CountingSMTP(SMTP):
    def connection_made(self, transport):
        self.event_handler.c["connections"] += 1
        super().connection_made(transport)


def write_stats(path, data):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        json.dump(data, f, sort_keys=True, indent=1)
        f.write("\n")
    os.replace(tmp, path)


async def serve(args):
    handler = FlakyHandler(args.tempfail_percent, args.seed, args.log)
    loop = asyncio.get_running_loop()
    started = time.time()
    info = dict(host=args.host, port=args.port, seed=args.seed,
                tempfail_percent=args.tempfail_percent, started_at=started)
    ctx = None
    if args.tls_cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
    kw = {}
    if args.auth:
        user, _, password = args.auth.partition(":")
        kw = dict(authenticator=handler.authenticator(
                      user.encode(), password.encode()),
                  auth_required=True,
                  # over implicit TLS aiosmtpd sees no STARTTLS: the
                  # connection is encrypted from the start anyway
                  auth_require_tls=not args.implicit_tls)
    if ctx is not None and not args.implicit_tls:
        kw["tls_context"] = ctx

    def factory():
        return CountingSMTP(handler, hostname="flaky.test",
                            enable_SMTPUTF8=True, decode_data=False,
                            timeout=60, loop=loop, **kw)

    server = await loop.create_server(factory, host=args.host, port=args.port,
                                      backlog=256, reuse_address=True,
                                      ssl=ctx if args.implicit_tls else None)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if _early_signals:
        stop.set()

    if args.stats:
        write_stats(args.stats, handler.stats(final=False, **info))
    print("listening on %s:%d" % (args.host, args.port), flush=True)

    async def periodic():
        while True:
            await asyncio.sleep(1)
            write_stats(args.stats, handler.stats(final=False, **info))

    ticker = asyncio.create_task(periodic()) if args.stats else None
    await stop.wait()

    # stop accepting, drop the sessions still open, write the final counters
    server.close()
    if ticker:
        ticker.cancel()
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for t in others:
        t.cancel()
    await asyncio.gather(*others, return_exceptions=True)
    await server.wait_closed()
    if args.stats:
        write_stats(args.stats, handler.stats(final=True, **info))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--tempfail-percent", type=float, default=10.0)
    p.add_argument("--seed", default="0")
    p.add_argument("--stats")
    p.add_argument("--log")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--implicit-tls", action="store_true")
    p.add_argument("--auth", metavar="USER:PASSWORD")
    args = p.parse_args()
    if not 0 <= args.tempfail_percent <= 100:
        p.error("--tempfail-percent must be between 0 and 100")
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")
    if args.implicit_tls and not args.tls_cert:
        p.error("--implicit-tls needs --tls-cert and --tls-key")
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
