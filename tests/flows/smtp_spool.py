"""The suite's SMTP server (``tests.flows.conftest.Inbox`` on aiosmtpd) as a process of its own, so a test
can kill it with SIGKILL while a message is in flight and start it again on the same port.

``python -m tests.flows.smtp_spool PORT SPOOL [HOLD]`` serves on 127.0.0.1:PORT and writes every message
it receives to ``SPOOL/<n>.eml`` before it answers (what the server has is what may have been
delivered). With ``HOLD``, the first message whose bytes contain it is written, then ``SPOOL/held``,
and the answer never comes: the sender waits in the DATA phase until the process is killed.
``SPOOL/ready-<pid>`` says the port is served.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from pathlib import Path
from typing import Any

from tests.flows.conftest import Inbox


class SpoolInbox(Inbox):
    def __init__(self, spool: Path, hold: str = "") -> None:
        super().__init__()
        self.spool, self.hold = spool, hold

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = bytes(envelope.content)
        tmp = self.spool / f".{uuid.uuid4().hex}.tmp"
        tmp.write_bytes(raw)
        tmp.rename(self.spool / f"{uuid.uuid4().hex}.eml")
        if self.hold and self.hold.encode() in raw:
            self.hold = ""
            (self.spool / "held").write_text(str(os.getpid()), encoding="utf-8")
            await asyncio.sleep(3600)  # the sender waits for an answer that never comes
        return await super().handle_DATA(server, session, envelope)


def main(argv: list[str]) -> None:
    from aiosmtpd.controller import Controller

    port, spool = int(argv[0]), Path(argv[1])
    box = SpoolInbox(spool, argv[2] if len(argv) > 2 else "")
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    (spool / f"ready-{os.getpid()}").write_text(str(port), encoding="utf-8")
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        controller.stop()


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    main(sys.argv[1:])
