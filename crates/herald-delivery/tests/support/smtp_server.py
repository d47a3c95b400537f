"""An SMTP server Herald did not write (aiosmtpd), for the email delivery tests.

Usage: smtp_server.py MODE [CERT KEY]

MODE is `plain`, `auth` (login required: user `herald`, password `secret`; no TLS needed),
`starttls` (STARTTLS required, then the same login) or `smtps` (TLS from the first byte); the last two need the
certificate and key files (PEM). The server listens on a free port of 127.0.0.1 and prints
`READY <port>`, then one JSON line per mail it accepted, written before it answers the
client: the envelope, whether the session was logged in and encrypted, the header lines as
they arrived and the mail as Python's `email` package parses it (each text part with
its line ends as `\n`). A recipient whose local
part is `refuse` is refused for good (550); one whose local part is `later` is refused for
now (451). It stops when its standard input closes.
"""

import email
import email.policy
import json
import logging
import socket
import ssl
import sys
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0]
        if local == "refuse":
            return "550 5.1.1 No such mailbox here"
        if local == "later":
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content
        head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace")
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        parts = []
        for part in parsed.walk():
            if part.is_multipart():
                continue
            parts.append(
                {
                    "content_type": part.get_content_type(),
                    "charset": part.get_content_charset(),
                    "text": part.get_content().replace("\r\n", "\n"),
                }
            )
        transport = server.transport
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "authenticated": bool(session.authenticated),
            "tls": session.ssl is not None
            or (transport is not None and transport.get_extra_info("ssl_object") is not None),
            "header_lines": head.split("\r\n"),
            "headers": [[name, str(value)] for name, value in parsed.items()],
            "content_type": parsed.get_content_type(),
            "parts": parts,
        }
        print(json.dumps(record), flush=True)
        return "250 2.0.0 Message accepted"


def authenticate(server, session, envelope, mechanism, auth_data):
    if (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == b"herald"
        and auth_data.password == b"secret"
    ):
        return AuthResult(success=True)
    return AuthResult(success=False, handled=False)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    # A login over plain TCP is what the `auth` mode is for: no need to warn about it.
    warnings.simplefilter("ignore", UserWarning)
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    mode = sys.argv[1]
    options = {}
    if mode in ("starttls", "smtps"):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[2], sys.argv[3])
        if mode == "starttls":
            options.update(
                tls_context=context,
                require_starttls=True,
                authenticator=authenticate,
                auth_required=True,
            )
        else:
            options.update(ssl_context=context)
    elif mode == "auth":
        options.update(
            authenticator=authenticate, auth_required=True, auth_require_tls=False
        )
    elif mode != "plain":
        sys.exit(f"unknown mode {mode!r}: use plain, auth, starttls or smtps")
    port = free_port()
    controller = Controller(
        Handler(), hostname="127.0.0.1", port=port, server_hostname="localhost", **options
    )
    controller.start()
    print(f"READY {port}", flush=True)
    sys.stdin.read()
    controller.stop()


if __name__ == "__main__":
    main()
