"""Files the engine reads besides project files and rule packs go through the same regular-file reader.

A named pipe where a small file of the workspace (the local server's state) or a scheduling instance
is expected is refused at once instead of blocking the command for ever.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lifecycle.errors import SpecError
from lifecycle.load.psplib import read_sm
from lifecycle.services.local_server import local_api_url, state_path
from lifecycle.workspace import Runtime, Settings, Workspace


def test_a_scheduling_instance_that_is_a_pipe_is_refused(tmp_path: Path) -> None:
    pipe = tmp_path / "j301_1.sm"
    os.mkfifo(pipe)
    with pytest.raises(SpecError, match="is a named pipe, not a regular file"):
        read_sm(pipe)


def test_a_server_state_file_that_is_a_pipe_means_no_local_server(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, Settings(), Runtime())
    os.mkfifo(state_path(ws))
    assert local_api_url(ws) == ""  # returns at once: the pipe is never opened for a blocking read
