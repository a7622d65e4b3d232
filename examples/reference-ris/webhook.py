"""A product's webhook for `segur proof --sut http://127.0.0.1:8765/segur-task` (docs/sut.md).

POST {"task": {...}, "endpoints": {...}} → 200 {"ok": true, ...} when the report was sent,
422 {"ok": false, "detail": "..."} when it was not (any non-2xx tells the harness "not done").
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from reference_ris.errors import RisError
from reference_ris.plugin import run


class TaskHandler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        try:
            status, answer = 200, run(request["task"], request["endpoints"])
        except RisError as exc:
            status, answer = 422, {"ok": False, "detail": str(exc)}
        body = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8765
    ThreadingHTTPServer(("127.0.0.1", port), TaskHandler).serve_forever()
