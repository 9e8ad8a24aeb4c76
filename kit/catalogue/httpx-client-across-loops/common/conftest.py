import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient

RATES = {"EUR": 1.08, "GBP": 1.27, "JPY": 0.0067}


class RatesHandler(BaseHTTPRequestHandler):
    """A real HTTP upstream: the exchange-rate service the app calls."""

    protocol_version = "HTTP/1.1"  # keep-alive, like any real upstream: clients keep the connection

    def do_GET(self):
        currency = self.path.rsplit("/", 1)[-1]
        status, payload = (200, {"currency": currency, "usd": RATES[currency]}) if currency in RATES \
            else (404, {"detail": "unknown currency"})
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle(self):
        try:
            super().handle()
        except ConnectionResetError:  # a client aborted a kept connection: a real upstream logs it elsewhere
            pass

    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="session", autouse=True)
def upstream():
    server = ThreadingHTTPServer(("127.0.0.1", 0), RatesHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    os.environ["UPSTREAM_URL"] = f"http://127.0.0.1:{server.server_address[1]}"
    yield os.environ["UPSTREAM_URL"]
    server.shutdown()
    server.server_close()


@pytest.fixture
async def client(upstream):
    from app import app  # imported once the upstream runs: the app reads UPSTREAM_URL

    async with LifespanManager(app) as manager:
        async with AsyncClient(transport=ASGITransport(app=manager.app), base_url="http://test") as client:
            yield client
