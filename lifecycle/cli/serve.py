"""``pmo serve``: the web pages and the client acceptance portal, with a local Prefect beside them.

The command parses its options, asks :mod:`lifecycle.services.local_server` to start the embedded
Prefect server and worker (unless ``PREFECT_API_URL`` names an external server, or ``--no-prefect``),
starts the warm flow runner that ``pmo … --run-flows`` commands hand their runs to
(:mod:`lifecycle.services.flow_handoff`, only beside the local Prefect), runs uvicorn on the application
of :func:`lifecycle.web.app.create_app`, and on exit (Ctrl-C or SIGTERM) stops the runner, the
worker, then the server. Nothing here decides anything.
"""

from __future__ import annotations

import os
from dataclasses import replace

import click

from lifecycle.cli.output import console, handle_errors, ws_from

HELP = """Serve the web pages (portfolio, projects, gates, rules) and the client acceptance portal.

\b
Listens on 127.0.0.1:8700 by default. Sign in with a user made by `pmo user add`.
--base-url is the address people reach the server at; it is used in the links of e-mails (the
client's acceptance link) and, when it starts with https://, makes the session cookie Secure.

\b
TLS: pmo serve speaks plain HTTP on loopback. Put a reverse proxy in front for TLS, e.g. nginx:
  location / { proxy_pass http://127.0.0.1:8700; proxy_set_header Host $host; }
and start `pmo serve --base-url https://pmo.example.com` so links and cookies use https.

\b
Database: the workspace's SQLite file by default; for a shared PostgreSQL database set
  PMO_DATABASE_URL=postgresql+psycopg://user:password@host/pmo
(run `pmo init` once against it), the same for every pmo command and worker.

\b
Prefect: without PREFECT_API_URL (embedded mode) pmo serve also starts a local Prefect server on
a free loopback port and a process worker, with Prefect's home in the workspace, and records the
server's URL in the workspace (prefect-server.json): `pmo ... --run-flows` commands then use it
instead of starting a temporary API each time, and they hand their flow runs to pmo serve, which
runs them (through that server, visible as runs) in its own warm process, so the command does not
import Prefect itself. All stop (worker first) when pmo serve stops.
With PREFECT_API_URL=http://prefect-host:4200/api set, nothing is started: flows and workers run on
that server (deploy with `prefect deploy --all` from the checkout).
"""


@click.command("serve", help=HELP, short_help="Serve the web pages and the client portal.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8700, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--base-url",
    default="",
    metavar="URL",
    help="Public URL for links in e-mails (default: settings.yaml base_url, else http://HOST:PORT).",
)
@click.option("--no-prefect", is_flag=True, help="Do not start the local Prefect server and worker.")
@click.pass_context
@handle_errors
def serve_cmd(ctx: click.Context, host: str, port: int, base_url: str, no_prefect: bool) -> None:
    # imported when serving, so `pmo serve --help` does not load the web stack, storage and uvicorn
    import uvicorn

    from lifecycle.cli.flows import import_flows, run_flow_here
    from lifecycle.services import client_acceptance, flow_handoff, local_server
    from lifecycle.services.context import read_runtime
    from lifecycle.web.app import WebSettings, create_app

    ws = ws_from(ctx)
    if base_url:
        os.environ["PMO_BASE_URL"] = base_url.rstrip("/")  # services build e-mail links from it
    elif not (os.environ.get("PMO_BASE_URL") or ws.settings.base_url):
        os.environ["PMO_BASE_URL"] = f"http://{host}:{port}"
    ws = replace(ws, runtime=read_runtime())  # the services read the base URL from the runtime
    base = client_acceptance.base_url(ws)
    out = console()
    local = runner = None
    external = local_server.external_api_url(ws)
    if external:
        out.print(f"Prefect: the server at {external}")
    elif not no_prefect:
        out.print("Prefect: starting a local server and worker …")
        local = local_server.start(ws)
        out.print(f"Prefect: {local.url} (recorded in {local.state_file})")
    try:
        if local is not None:
            import_flows(ws)  # once, here: the runs handed over do not pay for importing Prefect
            runner = flow_handoff.start(ws, lambda name, params: run_flow_here(ws, name, params))
            out.print(f"flow runner: {runner.url} (`pmo … --run-flows` hands its flow runs here)")
        app = create_app(WebSettings(ws, base_url=base))
        out.print(f"pmo serve: {base}  (workspace {ws.root})")
        uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False)
    finally:
        if runner is not None:
            flow_handoff.stop(runner)
        if local is not None:
            out.print("Prefect: " + ", ".join(local_server.stop(local)))
