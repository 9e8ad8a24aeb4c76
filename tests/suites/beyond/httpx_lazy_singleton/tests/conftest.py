import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

STATIONS = {
    "EGLL": [{"hour": h, "temp_c": 11 + h % 5, "rain_probability": 0.6 if h == 3 else 0.1} for h in range(12)],
    "LEMD": [{"hour": h, "temp_c": 20 + (h if h < 8 else 16 - h), "rain_probability": 0.0} for h in range(12)],
}


class FakeMetOffice(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        parts = self.path.strip("/").split("/")  # v1/stations/<id>/hourly
        hours = STATIONS.get(parts[2]) if len(parts) == 4 else None
        body = json.dumps({"hours": hours} if hours else {"error": "not found"}).encode()
        self.send_response(200 if hours else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients dropping kept-alive connections is not news (and printing tracebacks from threads races)


@pytest.fixture(scope="session", autouse=True)
def met_office():
    server = QuietServer(("127.0.0.1", 0), FakeMetOffice)
    threading.Thread(target=server.serve_forever, name="fake-met-office", daemon=True).start()
    os.environ["MET_API_URL"] = "http://{}:{}".format(*server.server_address)
    yield server
    server.shutdown()
    server.server_close()
