"""A webhook receiver for Herald's delivery tests, verifying with the PyPI
`standardwebhooks` package (the specification's reference implementation, not Herald's).

Usage: webhook_receiver.py SECRETS.json

SECRETS.json holds an object of names and secrets (`whsec_...`); it is read again at every
request, so secrets made after the receiver started count too.

It listens on a free loopback port and prints `listening PORT` first. For every request
it prints one JSON line, before answering: the path, the port the request came from (the
same for requests over one kept-alive connection), the webhook headers, the body, and
for each named secret whether `Webhook(secret).verify(body, headers)` accepted the
request. How it answers depends on the path:

  /gone      410 Gone
  /redirect  302 to /target
  /slow      200 after 5 seconds
  /flaky/N   503 to the first N requests of each webhook-id, then 200
  otherwise  200 with {"ok": true}
"""

import json
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook


def secrets():
    with open(sys.argv[1]) as file:
        return json.load(file)


# How many requests each webhook-id has made, for /flaky/N.
seen = Counter()
seen_lock = threading.Lock()


def report(line):
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {name.lower(): value for name, value in self.headers.items()}
        verified = {}
        for name, secret in secrets().items():
            try:
                Webhook(secret).verify(body, headers)
                verified[name] = True
            except Exception:
                verified[name] = False
        report(
            {
                "path": self.path,
                "client_port": self.client_address[1],
                "webhook_id": headers.get("webhook-id"),
                "timestamp": headers.get("webhook-timestamp"),
                "signatures": headers.get("webhook-signature", "").split(),
                "content_type": headers.get("content-type"),
                "body": body.decode("utf-8", "replace"),
                "verified": verified,
            }
        )
        if self.path == "/gone":
            self.answer(410, b"this endpoint is gone")
        elif self.path == "/redirect":
            self.answer(302, b"", location="/target")
        elif self.path == "/slow":
            time.sleep(5)
            self.answer(200, b"late")
        elif self.path.startswith("/flaky/"):
            with seen_lock:
                seen[headers.get("webhook-id")] += 1
                tries = seen[headers.get("webhook-id")]
            if tries <= int(self.path.rsplit("/", 1)[1]):
                self.answer(503, b"try again later")
            else:
                self.answer(200, b'{"ok": true}')
        else:
            self.answer(200, b'{"ok": true}')

    def answer(self, status, body, location=None):
        self.send_response(status)
        if location:
            self.send_header("location", location)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *arguments):
        pass


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A sender killed mid-request leaves a broken connection; that is what the
        # tests that kill workers do on purpose.
        pass


server = Server(("127.0.0.1", 0), Receiver)
server.daemon_threads = True
sys.stdout.write(f"listening {server.server_address[1]}\n")
sys.stdout.flush()
server.serve_forever()
