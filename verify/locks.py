"""One process at a time: an advisory ``flock`` on a file stamped with the holder's pid. The kernel
drops the lock when the process dies, so a killed run never leaves it held."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class LockHeld(Exception):
    """Another process holds the lock; ``holder`` is the pid it stamped (or "?")."""

    def __init__(self, holder: str) -> None:
        super().__init__(f"held by pid {holder}")
        self.holder = holder


def take_lock(path: Path) -> int:
    """Lock ``path`` (created if missing) for this process and stamp it with our pid; the returned
    descriptor holds the lock until it is closed. Raises :class:`LockHeld` at once if taken."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise LockHeld(holder) from exc
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd
