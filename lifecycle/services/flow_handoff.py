"""Hand-off of a flow run from a ``pmo`` command to the running ``pmo serve`` of the same workspace.

In embedded mode a ``pmo … --run-flows`` command would import Prefect (1–2 s) and start its engine in a
new process for every command. While ``pmo serve`` runs, it keeps a warm flow runner instead: a small
HTTP endpoint on 127.0.0.1 (a free port) in the serve process, whose Prefect and flow modules are
imported once, before the endpoint is recorded, and which runs each handed-off flow there, through
Prefect, against the local Prefect server ``pmo serve`` keeps (so every run is visible on it like any
other). The command waits for the result and prints it as if it had run the flow itself; it imports
no Prefect.

The endpoint is found through ``flow-runner.json`` in the workspace (url and a random token; the file
is readable by its owner only, like the workspace's keys): only a process that can read the workspace
can hand a run over. :func:`find` answers only when the file exists AND the endpoint answers, so a
stale file after a crash is ignored and the command runs the flow itself. Runs are taken one at a
time (a lock): the flows are idempotent, and one runner at a time keeps the serve process's pages
responsive on a small machine. A flow that fails is reported back with its error's class and message
and raised again in the command as the same :mod:`lifecycle.errors` class (so the exit code is the
same as when the command runs the flow itself).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import secrets
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from lifecycle import errors
from lifecycle.errors import LifecycleError
from lifecycle.workspace import Workspace

STATE_FILE = "flow-runner.json"
TOKEN_HEADER = "X-PMO-Runner-Token"
RUN_TIMEOUT = 3600.0  # a handed-off run the command waits for (a flow retrying a delivery waits too)
MAX_BODY = 1 << 20

Runner = Callable[[str, Mapping[str, Any]], Any]


def state_path(ws: Workspace) -> Path:
    return ws.root / STATE_FILE


def _error_payload(exc: BaseException) -> dict[str, Any]:
    return {"ok": False, "error": type(exc).__name__, "message": str(exc)}


def remote_error(payload: Mapping[str, Any]) -> LifecycleError:
    """The exception a failed handed-off run raises in the command: the same class of ours, else a
    LifecycleError naming the flow's exception."""
    name, message = str(payload.get("error", "")), str(payload.get("message", ""))
    cls = getattr(errors, name, None)
    if isinstance(cls, type) and issubclass(cls, LifecycleError):
        with contextlib.suppress(TypeError):
            return cls(message)
    return LifecycleError(f"the flow failed ({name}): {message}" if name else f"the flow failed: {message}")


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, fmt: str, *args: Any) -> None:  # quiet: the serve console is the user's
        return

    def _answer(self, status: int, body: Mapping[str, Any]) -> None:
        data = json.dumps(body, ensure_ascii=False, default=str).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorised(self) -> bool:
        given = self.headers.get(TOKEN_HEADER, "")
        return hmac.compare_digest(given.encode("utf-8"), self.server.token.encode("utf-8"))

    def do_GET(self) -> None:
        if self.path != "/health":
            self._answer(404, {"ok": False, "error": "NotFound", "message": self.path})
            return
        self._answer(200, {"ok": True, "runs": self.server.runs})

    def do_POST(self) -> None:
        if not self._authorised():
            self._answer(403, {"ok": False, "error": "Forbidden", "message": "wrong or missing runner token"})
            return
        request = self._request()
        if request is None:
            return
        with self.server.lock:
            try:
                result = self.server.runner(request["flow"], request["params"])
            except Exception as exc:  # the flow's failure goes back to the command that asked
                self._answer(200, _error_payload(exc))
                return
            self.server.runs += 1
        self._answer(200, {"ok": True, "result": result})

    def _request(self) -> dict[str, Any] | None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            if self.path != "/run" or not 0 < length <= MAX_BODY:
                raise ValueError(f"POST /run with a JSON body of at most {MAX_BODY} bytes")
            body = json.loads(self.rfile.read(length))
            if not isinstance(body, dict) or not isinstance(body.get("flow"), str):
                raise ValueError("the body must be {flow: NAME, params: {...}}")
            params = body.get("params") or {}
            if not isinstance(params, dict):
                raise ValueError("params must be an object")
        except ValueError as exc:
            self._answer(400, {"ok": False, "error": "InvalidInput", "message": str(exc)})
            return None
        return {"flow": body["flow"], "params": params}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, runner: Runner, token: str):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.runner, self.token = runner, token
        self.lock = threading.Lock()
        self.runs = 0


@dataclass
class FlowRunner:
    """The warm flow runner of a ``pmo serve`` process: its endpoint, token and thread."""

    url: str
    token: str
    server: _Server
    thread: threading.Thread
    state_file: Path


def start(ws: Workspace, runner: Runner) -> FlowRunner:
    """Serve ``runner`` on a loopback port and record it in the workspace (the caller has imported the
    flows already, so the first handed-off run does not pay for it)."""
    token = secrets.token_urlsafe(32)
    server = _Server(runner, token)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="pmo-flow-runner", daemon=True)
    thread.start()
    path = state_path(ws)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump({"url": url, "token": token, "pid": os.getpid()}, out)
    tmp.replace(path)
    return FlowRunner(url, token, server, thread, path)


def stop(handle: FlowRunner) -> None:
    """Forget the recorded endpoint, then stop serving (a run in progress finishes first)."""
    with contextlib.suppress(FileNotFoundError):
        handle.state_file.unlink()
    handle.server.shutdown()
    handle.server.server_close()
    handle.thread.join(10)


def find(ws: Workspace) -> tuple[str, str] | None:
    """``(url, token)`` of the running ``pmo serve``'s flow runner of this workspace, else None.

    Not in server mode (``PREFECT_API_URL``: flows run on that server's workers) and not when the file
    is missing, unreadable or stale (nothing answers at its address)."""
    if ws.runtime.server_mode:
        return None
    try:
        data = json.loads(state_path(ws).read_text(encoding="utf-8"))
        url, token = str(data["url"]), str(data["token"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=1.0) as resp:
            ok = resp.status == 200 and json.loads(resp.read()).get("ok") is True
    except (OSError, ValueError, AttributeError):
        return None
    return (url, token) if ok else None


def run(found: tuple[str, str], flow: str, params: Mapping[str, Any], timeout: float = RUN_TIMEOUT) -> Any:
    """Hand flow ``flow`` with ``params`` to the runner ``found`` and wait for its result.

    Raises the flow's own error class (see :func:`remote_error`), or ConfigError when the runner
    cannot be reached or refuses the request."""
    url, token = found
    body = json.dumps({"flow": flow, "params": dict(params)}, default=str).encode("utf-8")
    req = urllib.request.Request(
        f"{url}/run", data=body, method="POST", headers={"Content-Type": "application/json", TOKEN_HEADER: token}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            answer = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        answer = _read_error(exc)
        raise errors.ConfigError(f"the flow runner of pmo serve refused the run: {answer.get('message', exc)}") from exc
    except (OSError, ValueError) as exc:
        raise errors.ConfigError(f"the flow runner of pmo serve at {url} did not answer: {exc}") from exc
    if not answer.get("ok"):
        raise remote_error(answer)
    return answer.get("result")


def _read_error(exc: urllib.error.HTTPError) -> dict[str, Any]:
    try:
        data = json.loads(exc.read())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
