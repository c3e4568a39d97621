"""The web face of pmo-lifecycle: ``pmo serve`` pages and the client acceptance portal.

``create_app`` (in :mod:`lifecycle.web.app`) builds the Starlette application; the pages render on
the server with Jinja2 and call only services, like the CLI. Everything the browser loads (one CSS
file, no script) ships inside this package.
"""

from __future__ import annotations
