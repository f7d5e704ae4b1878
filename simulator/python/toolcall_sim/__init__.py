"""The toolcall simulator from Python: find the installed ``toolcall-sim``
binary, run it, and drive per-test sessions on it (see ``pytest_plugin``
for the ``toolcall_sim`` fixture)."""

from ._binary import find_binary
from ._server import Server, Session, VerifyError

__all__ = ["Server", "Session", "VerifyError", "find_binary"]
