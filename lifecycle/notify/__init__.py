"""Outbound notifications: e-mail over SMTP and JSON webhooks, with no project logic.

The two transports are thin and synchronous, take their settings as plain mappings (the workspace's
``smtp`` and ``webhook`` settings) and translate every foreign failure into
:class:`~lifecycle.errors.DeliveryError`, so the services that record deliveries (and the Prefect tasks
that retry them) see one kind of error. Idempotency and recording live in
:mod:`lifecycle.services.delivery`, not here.
"""
