#!/usr/bin/env python3
"""A real SMTP server for ioc-tracker's email tests (never for production use).

Listens on 127.0.0.1 on a free port, prints "PORT <n>" on stdout once it accepts connections,
and stores every accepted message in the directory given with --maildir:
  NNNN.eml   the message bytes as received after DATA
  NNNN.json  the envelope: mail_from, rcpt_tos, the AUTH mechanism and login used, tls (bool)
and appends one line per SMTP event (MAIL/DATA answers, AUTH results) to <maildir>/events.log.

Modes (--security): none (plain TCP), starttls (STARTTLS required before MAIL), tls (implicit TLS).
Auth (--user/--password, --token for XOAUTH2, --mechanisms): when a user is given, AUTH is
required; a wrong password or token is answered 535.
Faults: --tempfail N answers 451 to the first N MAIL (or DATA with --tempfail-at data) commands;
--drop N closes the connection without answering on the first N MAIL commands;
--reject answers 554 to every MAIL command.

Needs aiosmtpd (pip install aiosmtpd, see .ci/smtp-setup.sh). Stops on SIGTERM or SIGKILL.
"""

import argparse
import asyncio
import base64
import json
import os
import signal
import ssl
import sys

try:
    from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword
except ImportError:  # the Rust harness checks this first and names .ci/smtp-setup.sh
    sys.stderr.write("aiosmtpd is not installed: run .ci/smtp-setup.sh (pip install aiosmtpd)\n")
    sys.exit(3)


class State:
    def __init__(self, args):
        self.args = args
        self.mail_count = 0
        self.data_count = 0
        self.stored = 0

    def event(self, line):
        with open(os.path.join(self.args.maildir, "events.log"), "a", encoding="utf-8") as f:
            f.write(line + "\n")


class Handler:
    def __init__(self, state):
        self.state = state

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        st = self.state
        st.mail_count += 1
        n = st.mail_count
        if n <= st.args.drop:
            st.event(f"MAIL {n} dropped")
            server.transport.abort()
            return "421 4.4.2 connection dropped by test server"
        if st.args.reject:
            st.event(f"MAIL {n} 554")
            return "554 5.7.1 message refused by test policy"
        if st.args.tempfail_at == "mail" and n <= st.args.tempfail:
            st.event(f"MAIL {n} 451")
            return "451 4.3.0 test server busy, try again later"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        st.event(f"MAIL {n} 250")
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        st = self.state
        st.data_count += 1
        n = st.data_count
        if st.args.tempfail_at == "data" and n <= st.args.tempfail:
            st.event(f"DATA {n} 451")
            return "451 4.3.0 test server busy, try again later"
        st.stored += 1
        base = os.path.join(st.args.maildir, f"{st.stored:04d}")
        content = envelope.original_content or envelope.content
        with open(base + ".eml.tmp", "wb") as f:
            f.write(content)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "auth_mechanism": getattr(session, "auth_mechanism", None),
            "login": (
                session.auth_data.login.decode("utf-8", "replace")
                if isinstance(session.auth_data, LoginPassword)
                else session.auth_data
            ),
            "tls": session.ssl is not None
            or server.transport.get_extra_info("ssl_object") is not None,
        }
        with open(base + ".json", "w", encoding="utf-8") as f:
            json.dump(meta, f)
        os.replace(base + ".eml.tmp", base + ".eml")
        st.event(f"DATA {n} 250")
        return "250 2.0.0 stored as " + f"{st.stored:04d}"

    async def auth_XOAUTH2(self, server, args):
        st = self.state
        if len(args) >= 2:
            raw = args[1]
        else:
            raw = await server.challenge_auth("", encode_to_b64=False)
            if raw is MISSING:
                return AuthResult(success=False, handled=False)
        try:
            text = base64.b64decode(raw).decode("utf-8")
        except Exception:
            st.event("AUTH XOAUTH2 malformed")
            return AuthResult(success=False, handled=False)
        fields = dict(
            part.split("=", 1) for part in text.split("\x01") if "=" in part
        )
        user = fields.get("user")
        token = fields.get("auth", "").removeprefix("Bearer ")
        if user == st.args.user and st.args.token is not None and token == st.args.token:
            st.event(f"AUTH XOAUTH2 {user} ok")
            server.session.auth_mechanism = "XOAUTH2"
            return AuthResult(success=True, auth_data=user)
        st.event(f"AUTH XOAUTH2 {user} failed")
        return AuthResult(success=False, handled=False)


def make_authenticator(state):
    def authenticator(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", "replace")
        ok = login == state.args.user and auth_data.password.decode("utf-8", "replace") == state.args.password
        state.event(f"AUTH {mechanism} {login} {'ok' if ok else 'failed'}")
        if ok:
            session.auth_mechanism = mechanism
            return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)

    return authenticator


def tls_context(args):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(args.cert, args.key)
    return ctx


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--maildir", required=True)
    p.add_argument("--security", choices=["none", "starttls", "tls"], default="none")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--token")
    p.add_argument("--mechanisms", default="PLAIN,LOGIN,XOAUTH2",
                   help="AUTH mechanisms offered, comma-separated")
    p.add_argument("--tempfail", type=int, default=0)
    p.add_argument("--tempfail-at", choices=["mail", "data"], default="mail")
    p.add_argument("--drop", type=int, default=0)
    p.add_argument("--reject", action="store_true")
    args = p.parse_args()
    os.makedirs(args.maildir, exist_ok=True)

    state = State(args)
    handler = Handler(state)
    offered = {m.strip().upper() for m in args.mechanisms.split(",") if m.strip()}
    excluded = [m for m in ("PLAIN", "LOGIN", "XOAUTH2") if m not in offered]
    need_tls = args.security in ("starttls", "tls")
    if need_tls and not (args.cert and args.key):
        p.error("--cert and --key are needed with --security starttls|tls")

    def factory():
        kwargs = dict(
            hostname="localhost",
            authenticator=make_authenticator(state) if args.user else None,
            auth_required=bool(args.user),
            auth_require_tls=False,
            auth_exclude_mechanism=excluded,
        )
        if args.security == "starttls":
            kwargs.update(tls_context=tls_context(args), require_starttls=True)
        return SMTP(handler, **kwargs)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server_ssl = tls_context(args) if args.security == "tls" else None
    server = loop.run_until_complete(
        loop.create_server(factory, host="127.0.0.1", port=0, ssl=server_ssl)
    )
    port = server.sockets[0].getsockname()[1]
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    print(f"PORT {port}", flush=True)
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    main()
