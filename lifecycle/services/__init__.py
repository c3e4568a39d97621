"""Use cases of pmo-lifecycle: the only door the faces (CLI, flows, web) and the tests go through.

Each capability has its own module: ``projects`` (init, apply, export, show), ``records`` (the daily
records of a PM), ``gates`` (check, approve, waive, advance, audit), ``gate_review`` (the gate review
and close-out decisions the flows orchestrate), ``milestones``, ``quality``, ``documents``,
``delivery`` (e-mail and webhooks), ``monitor``, ``analytics``, ``portfolio``, ``rules`` and
``simulate``. A use case is one function with typed inputs and a typed result (a frozen dataclass or
a domain entity) that the face renders. Services use the domain, the loaders, rule evaluation,
storage, documents and notify; nothing below imports services. Every service takes a
:class:`~lifecycle.services.context.Context`, opened the same way by every face
(``with open_context(workspace) as ctx:``); the environment was read once into the workspace's
settings, and no service reads it.
"""

# registers the on-demand schedule-risk metric (metrics.finish_p80) for every user of the services
from lifecycle.services import scheduling as _scheduling  # noqa: F401
