"""An aiosmtpd handler for modelgate's smtp tests.

    python -m aiosmtpd -n -l 127.0.0.1:PORT -c mailsink.Sink DIR [USER PASSWORD]

Every accepted message is written to DIR/<n>.json (envelope, whether the
session used TLS, who authenticated, the raw message). With USER and PASSWORD,
AUTH PLAIN accepts only them. Recipients whose local part is "tempfail" get a
451 reply, those whose local part is "reject" a 550.
"""

import base64
import itertools
import json
import os

from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, directory, user=None, password=None):
        self.directory = directory
        self.user = user
        self.password = password
        self.seq = itertools.count(1)

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) not in (1, 3):
            parser.error("mailsink.Sink takes DIR [USER PASSWORD]")
        return cls(*args)

    async def auth_PLAIN(self, server, args):
        if self.user is None or len(args) != 2:
            return AuthResult(success=False, handled=False)
        try:
            _, login, password = base64.b64decode(args[1], validate=True).split(b"\0")
        except ValueError:
            return AuthResult(success=False, handled=False)
        ok = login.decode() == self.user and password.decode() == self.password
        return AuthResult(success=ok, handled=False, auth_data=LoginPassword(login, password))

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0]
        if local == "tempfail":
            return "451 4.3.0 mailbox busy, try again later"
        if local == "reject":
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        auth = session.auth_data.login.decode() if session.authenticated and session.auth_data else None
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": session.ssl is not None,
            "auth": auth,
            "content": envelope.original_content.decode("utf-8", "replace"),
        }
        n = next(self.seq)
        path = os.path.join(self.directory, f"{n}.json")
        with open(path + ".tmp", "w") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        return "250 OK message accepted"
