"""The only URL fetcher documents are rendered with: template assets and ``data:`` URIs, nothing else.

WeasyPrint's default fetcher follows any URL it meets: ``file:///etc/passwd`` named by a
``<link rel="attachment">`` would be embedded in the PDF, and ``http://`` URLs in CSS would be
requested from the rendering machine. Project data is autoescaped, so such markup should never reach
the renderer, but the fetcher is the second wall: it serves files *inside* the templates folder
(after resolving symlinks and ``..``) and ``data:`` URIs, refuses every other URL, and logs every
attempt in ``attempts`` / ``refused`` so tests can prove that nothing else was fetched.
"""

from __future__ import annotations

import base64
import binascii
import logging
import mimetypes
import threading
from pathlib import Path
from typing import Any
from urllib.parse import unquote, unquote_to_bytes, urlsplit
from urllib.request import url2pathname

from weasyprint.urls import URLFetcher, URLFetcherResponse

log = logging.getLogger(__name__)

_TYPES = {
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
}


class FetchRefused(ValueError):
    """A URL outside what documents may use; WeasyPrint logs it and renders without the resource."""


class AssetFetcher(URLFetcher):  # type: ignore[misc]  # untyped base class
    """Serves ``file:`` URLs under ``root`` and ``data:`` URIs; refuses and records everything else."""

    def __init__(self, root: Path, **kwargs: Any) -> None:
        super().__init__(allowed_protocols=("file", "data"), allow_redirects=False, fail_on_errors=False, **kwargs)
        self.root = Path(root).resolve()
        self.attempts: list[str] = []
        self.refused: list[str] = []
        self._lock = threading.Lock()

    # WeasyPrint calls fetch() for every resource; open() and __call__ of the base class route here.
    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        with self._lock:
            self.attempts.append(url)
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "data":
            return self._data(url)
        if scheme == "file":
            path = self._inside_root(url)
            if path is not None:
                media = (
                    _TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                )
                return URLFetcherResponse(path.as_uri(), body=path.read_bytes(), headers={"Content-Type": media})
        return self._refuse(url)

    def _inside_root(self, url: str) -> Path | None:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            return None
        try:
            path = Path(url2pathname(unquote(parts.path))).resolve()
        except (OSError, ValueError):
            return None
        if not path.is_relative_to(self.root) or not path.is_file():
            return None
        return path

    def _data(self, url: str) -> URLFetcherResponse:
        header, sep, payload = url[5:].partition(",")
        if not sep:
            return self._refuse(url)
        is_b64 = header.lower().endswith(";base64")
        media = (header[:-7] if is_b64 else header) or "text/plain;charset=US-ASCII"
        try:
            body = base64.b64decode(unquote(payload), validate=False) if is_b64 else unquote_to_bytes(payload)
        except (binascii.Error, ValueError):
            return self._refuse(url)
        return URLFetcherResponse(url[:64], body=body, headers={"Content-Type": media})

    def _refuse(self, url: str) -> URLFetcherResponse:
        with self._lock:
            self.refused.append(url)
        log.warning("document renderer refused to fetch %s", url[:200])
        raise FetchRefused(f"documents may only use their own template assets and data: URIs, not {url[:200]}")
