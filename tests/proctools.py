"""Looking at processes from the tests (Linux ``/proc``): alive, CPU used, children."""

from __future__ import annotations

import time
from pathlib import Path


def _stat(pid: int) -> list[str]:
    """Fields of /proc/PID/stat after the command name (field 3, the state, comes first)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def pid_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        return _stat(pid)[0] != "Z"
    except OSError:
        return False


def cpu_ticks(pid: int) -> int:
    """User + system clock ticks ``pid`` has used."""
    fields = _stat(pid)
    return int(fields[11]) + int(fields[12])


def wait_for_cpu(pid: int, ticks: int = 50, give_up_s: float = 60.0) -> None:
    """Return once ``pid`` has used ``ticks`` more clock ticks (it is computing), or after give_up_s."""
    start, deadline = cpu_ticks(pid), time.monotonic() + give_up_s
    while cpu_ticks(pid) < start + ticks and time.monotonic() < deadline:
        time.sleep(0.05)


def children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(_stat(int(stat.parent.name))[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return found


def gone(pid: int, give_up_s: float = 10.0) -> bool:
    """Wait until ``pid`` has ended (a SIGKILL takes effect a moment after it is sent); True if it did."""
    deadline = time.monotonic() + give_up_s
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not pid_alive(pid)
