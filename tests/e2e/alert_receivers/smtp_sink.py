"""A local SMTP server standing in for the mail relay of
deploy/alertmanager/alertmanager.yaml in tests/e2e_alert_receivers.rs.

It requires AUTH PLAIN (allowed without TLS on loopback, as Go's SMTP client
allows it for 127.0.0.1; LOGIN is not offered because aiosmtpd's LOGIN
prompts differ from the ones Alertmanager's client expects) with the user and
password it is given, and appends every accepted message to a
JSON-lines file: envelope sender, recipients, whether the session was
authenticated, and the raw message.

Usage: smtp_sink.py PORT OUT_FILE USER PASSWORD
"""
import json
import signal
import sys
import threading
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def main() -> None:
    port, out, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            record = {
                "from": envelope.mail_from,
                "to": envelope.rcpt_tos,
                "authenticated": bool(session.authenticated),
                "data": envelope.content.decode("utf-8", "replace"),
            }
            with open(out, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
            return "250 Message accepted for delivery"

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == user
            and auth_data.password.decode() == password
        )
        return AuthResult(success=ok)

    # Plain-text AUTH is the point here (loopback only): no warning for it.
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_require_tls=False,
        auth_required=True,
        auth_exclude_mechanism=["LOGIN"],
    )
    controller.start()
    print(f"smtp sink listening on 127.0.0.1:{port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
