"""Use cases of pmo-lifecycle: what the CLI, the flows and the tests call.

DESIGN.md sketched one ``services.py``; it is a package instead so each capability (projects, gates,
documents, analytics, quality, notifications) has its own module with its own tests, and the
dependency rule is unchanged: services use domain, spec, storage and documents; nothing below
imports services. Every service takes a :class:`~lifecycle.services.context.Context`.
"""

# registers the on-demand schedule-risk metric (metrics.finish_p80) for every user of the services
from lifecycle.services import scheduling as _scheduling  # noqa: F401
