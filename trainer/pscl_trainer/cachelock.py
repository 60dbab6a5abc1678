"""The cache build lock, as a reader honours it (docs/cache-format.md, "Locking"; the writer's
side is src/core/cache/lock.ts).

`.build.lock` in the cache folder names the build writing it: {"format": "pscl-cache-lock", "pid",
"host", "startedAt", "procStart", "command", "token"}. It is held while that process lives (same
host, pid alive, the same start time on Linux); a lock of another host (a cluster node on shared
storage) is held while its holder's heartbeat keeps the file's mtime younger than
OTHER_HOST_STALE_S. Otherwise it is stale and means nothing to a reader. A reader never takes the lock: it waits until no live build holds it, then reads.
"""
import json
import os
import socket
import time

LOCK_FILE = ".build.lock"
OTHER_HOST_STALE_S = 300  # lock.ts OTHER_HOST_STALE_MS; holders touch the file every 30 s


def _start_ticks(pid):
    """Linux: the process start time in clock ticks since boot (field 22 of /proc/PID/stat)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split(" ")
    if fields[0] == "Z":
        return "zombie"
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _start_ticks(pid) != "zombie"


def live_holder(cache_dir):
    """The lock record of the live build writing `cache_dir`, or None (no lock, or a stale one)."""
    path = os.path.join(cache_dir, LOCK_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            lock = json.load(f)
        mtime = os.stat(path).st_mtime
    except (OSError, ValueError):
        return None
    if not isinstance(lock, dict) or lock.get("format") != "pscl-cache-lock":
        return None
    pid = lock.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return None
    if lock.get("host") != socket.gethostname():
        return lock if time.time() - mtime < OTHER_HOST_STALE_S else None
    if not _alive(pid):
        return None
    started = lock.get("procStart")
    if isinstance(started, int):
        now = _start_ticks(pid)
        if isinstance(now, int) and now != started:
            return None  # the pid now names another process
    return lock


def describe(cache_dir, lock):
    what = f", {lock['command']}" if lock.get("command") else ""
    where = f" on {lock['host']}" if lock.get("host") != socket.gethostname() else ""
    return f"cache {cache_dir} is being built by pid {lock['pid']}{where} (started {lock.get('startedAt')}{what})"


def wait_for_build(cache_dir, log, poll_s=0.5):
    """Returns once no live build holds the cache folder, saying once that it waits."""
    said = False
    while True:
        lock = live_holder(cache_dir)
        if lock is None:
            return
        if not said:
            log(f"{describe(cache_dir, lock)}; waiting for it to finish before reading it")
            said = True
        time.sleep(poll_s)
