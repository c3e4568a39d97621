"""Client documents: view models, Jinja2 templates, WeasyPrint PDF/A rendering and PAdES signing.

A document is a pure function of its *record*: :mod:`~lifecycle.documents.views` builds the record
(a plain JSON dict) from the project and the gate reviews; :mod:`~lifecycle.documents.render` turns it
into HTML with the shared templates (``templates/``, autoescaped, StrictUndefined) and into a
deterministic PDF/A-3b with the record attached; :mod:`~lifecycle.documents.sign` adds and checks
PAdES signatures. :mod:`~lifecycle.documents.locale` holds the Chinese/English words and formats,
:mod:`~lifecycle.documents.charts` draws the inline SVG charts, and
:mod:`~lifecycle.documents.fetcher` is the only URL fetcher the renderer may use. The use cases
(issue, verify, list) live in :mod:`lifecycle.services.documents`.
"""
