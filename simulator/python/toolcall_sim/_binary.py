"""Where the ``toolcall-sim`` binary of this install is."""

import os
import shutil
import sys
import sysconfig

_NAME = "toolcall-sim.exe" if sys.platform == "win32" else "toolcall-sim"


def find_binary() -> str:
    """The path of ``toolcall-sim``: ``$TOOLCALL_SIM_BIN`` if set, else the
    one this package installed (the scripts folder of its environment), else
    the first on PATH."""
    override = os.environ.get("TOOLCALL_SIM_BIN")
    if override:
        return override
    candidates = [sysconfig.get_path("scripts")]
    user = sysconfig.get_path("scripts", f"{os.name}_user") if os.name != "nt" else None
    if user:
        candidates.append(user)
    for folder in candidates:
        path = os.path.join(folder, _NAME)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    found = shutil.which(_NAME)
    if found:
        return found
    raise FileNotFoundError(
        "toolcall-sim: the binary is not installed here; `pip install toolcall-sim` "
        "or set TOOLCALL_SIM_BIN"
    )
