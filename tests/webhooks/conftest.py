"""A real HTTP receiver on 127.0.0.1 that checks the webhook signature like a customer would."""

import hashlib
import hmac
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Receiver:
    base_url: str
    secrets: dict[str, str] = field(default_factory=dict)  # path → webhook secret
    fail_first: dict[str, int] = field(default_factory=dict)  # path → failures before success (-1: always)
    calls: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def calls_to(self, path: str) -> list[dict]:
        with self.lock:
            return [c for c in self.calls if c["path"] == path]


def _verify(secret: str | None, header: str, body: bytes) -> bool:
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    except (AttributeError, KeyError, ValueError):
        return False
    return hmac.compare_digest(expected, parts["v1"])


@pytest.fixture
def receiver():
    state = Receiver(base_url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            verified = _verify(state.secrets.get(self.path), self.headers.get("X-CityAI-Signature", ""), body)
            with state.lock:
                previous = len([c for c in state.calls if c["path"] == self.path])
                state.calls.append({
                    "path": self.path, "verified": verified, "body": json.loads(body or b"null"),
                    "delivery": self.headers.get("X-CityAI-Delivery"), "event": self.headers.get("X-CityAI-Event"),
                })
            failures = state.fail_first.get(self.path, 0)
            if not verified:
                code = 401
            elif failures == -1 or previous < failures:
                code = 503
            else:
                code = 204
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
