"""A real local HTTP server speaking the OpenAI chat API, with scripted answers and injected faults.

Each queued step is a reply string, a function of the request body returning one, or a
fault: ``("status", code, message)``, ``("delay", seconds, reply)``, ``("drop",)`` (close the
connection without answering), ``("raw", code, body_bytes)`` (any body, sent as JSON),
``("cut", reply)`` (a complete response whose JSON body stops half way), ``("short", reply)``
(the body stops before its announced length and the connection closes),
``("finish", reply, reason)`` (a reply with another ``finish_reason``), ``("choice", obj)``
(``obj`` as the first choice, e.g. ``{"message": None}``). Every request body lands in ``requests``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeOpenAIServer:
    """``owned_by`` and ``routes`` (GET path -> (status, JSON body)) let it pass for a given server kind;
    a request holding any of ``reject_fields`` is answered 400 (a constraint the server cannot compile)."""

    def __init__(
        self,
        models: tuple[str, ...] = ("local",),
        list_models: bool = True,
        *,
        owned_by: str = "test",
        routes: dict[str, tuple[int, Any]] | None = None,
        reject_fields: tuple[str, ...] = (),
        reject_status: int = 400,
        port: int = 0,
    ) -> None:
        self.models = models
        self.list_models = list_models
        self.owned_by = owned_by
        self.routes = dict(routes or {})
        self.reject_fields = reject_fields
        self.reject_status = reject_status
        self.steps: deque[Any] = deque()
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.gets: list[str] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _send(self, code: int, payload: Any, extra: dict[str, str] | None = None, raw: bytes | None = None,
                      length: int | None = None) -> None:
                body = raw if raw is not None else json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(length if length is not None else len(body)))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                with server._lock:
                    server.gets.append(self.path)
                if self.path in server.routes:
                    status, payload = server.routes[self.path]
                    self._send(status, payload)
                elif self.path.rstrip("/").endswith("/models") and server.list_models:
                    data = [{"id": m, "object": "model", "owned_by": server.owned_by} for m in server.models]
                    self._send(200, {"object": "list", "data": data})
                else:
                    self._send(404, {"error": {"message": "not found", "type": "not_found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with server._lock:
                    server.requests.append(body)
                    server.headers.append({k.lower(): v for k, v in self.headers.items()})
                    step = server.steps.popleft() if server.steps else ("status", 500, "no reply queued")
                if body.get("model") not in server.models:
                    self._send(404, {"error": {"message": f"model {body.get('model')} does not exist"}})
                    return
                rejected = [f for f in server.reject_fields if f in body]
                if rejected:
                    with server._lock:
                        server.steps.appendleft(step)  # the step answers the retry without the constraint
                    self._send(server.reject_status, {"error": {"message": f"failed to parse {rejected[0]}: syntax error",
                                                                "type": "invalid_request_error"}})
                    return
                if isinstance(step, tuple):
                    kind = step[0]
                    if kind == "status":
                        extra = {"Retry-After": "0"} if step[1] == 429 else None
                        self._send(step[1], {"error": {"message": step[2], "type": "server_error"}}, extra)
                        return
                    if kind == "drop":
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return
                    if kind == "delay":
                        time.sleep(step[1])
                        step = step[2]
                    if kind == "raw":
                        self._send(step[1], None, raw=step[2])
                        return
                    if kind in ("cut", "short"):
                        full = json.dumps(self._completion(body, str(step[1]))).encode()
                        # cut: a complete HTTP response whose JSON stops half way; short: the body stops
                        # before the length its header announced, and the connection closes
                        self._send(200, None, raw=full[: len(full) // 2], length=len(full) if kind == "short" else None)
                        if kind == "short":
                            self.close_connection = True
                            self.connection.shutdown(2)
                        return
                    if kind == "finish":
                        self._send(200, self._completion(body, str(step[1]), step[2]))
                        return
                    if kind == "choice":
                        payload = self._completion(body, "")
                        payload["choices"] = [step[1]]
                        self._send(200, payload)
                        return
                if callable(step):
                    step = step(body)
                self._send(200, self._completion(body, str(step)))

            def _completion(self, body: dict[str, Any], text: str, finish: str = "stop") -> dict[str, Any]:
                prompt = sum(len(m.get("content", "")) for m in body.get("messages", []))
                return {
                    "id": "chatcmpl-test",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text},
                            "finish_reason": finish,
                        }
                    ],
                    "usage": {
                        "prompt_tokens": prompt // 4,
                        "completion_tokens": len(text) // 4,
                        "total_tokens": prompt // 4 + len(text) // 4,
                    },
                }

        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def enqueue(self, *steps: Any) -> FakeOpenAIServer:
        with self._lock:
            self.steps.extend(steps)
        return self

    def __enter__(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def answer(clusters: list[list[int]], names: list[str] | None = None, think: str = "grouping") -> str:
    """A well-formed answer for the given clusters."""
    lines = [f"Total clusters: {len(clusters)}"]
    for k, items in enumerate(clusters, start=1):
        label = f" ({names[k - 1]})" if names else ""
        lines.append(f"cluster{k}{label}: [{', '.join(map(str, items))}]")
    return f"<think>{think}</think>\n<answer>\n" + "\n".join(lines) + "\n</answer>"


def valid_reply(body: dict[str, Any]) -> str:
    """A fake model that reads the prompt: a valid named answer for however many text blocks it holds."""
    prompt = body["messages"][-1]["content"]
    n = prompt.count('<text id="')
    if n < 2:
        return answer([[1]] if n == 1 else [[1]])
    return answer([list(range(1, n + 1, 2)), list(range(2, n + 1, 2))], ["odd ones", "even ones"])
