"""When to stop: SIGTERM, SIGINT or SIGHUP, or the launcher going away.

The launcher (`pscl train`, the editor) reads the trainer's stdout. If it dies without stopping
the trainer (SIGKILL, a crash), the trainer notices (its stdout pipe closes, or it is re-parented)
and stops as if asked: it checkpoints at the next step boundary, writes its `end` event to
events.jsonl, keeps logging into train.log and removes run.lock, which names its own pid. A
write to the closed stdout never crashes it.

The flag is process-wide (`requested()`), so long loops outside the training step (evaluation)
check it too.
"""
import atexit
import json
import os
import select
import signal
import sys
import threading

_POLL_S = 0.5
_state = {"flag": False, "why": None, "run_dir": None, "gone": False}
_lock = threading.Lock()


def requested():
    """True once a stop was asked for (signal or launcher gone)."""
    return _state["flag"]


def _request(why):
    with _lock:
        if not _state["flag"]:
            _state["flag"], _state["why"] = True, why


def set_run_dir(run_dir):
    """Where train.log and run.lock are, for when the launcher is gone (events.Events sets it)."""
    _state["run_dir"] = run_dir


def launcher_gone(why="stdout closed: the launcher is gone"):
    """Stop; from now on, write logs to train.log instead of the closed pipes."""
    with _lock:
        if _state["gone"]:
            return
        _state["gone"] = True
    _request(why)
    # the pipes' file descriptors themselves are replaced, so buffered or C-level writes (torch's
    # warnings, the interpreter's final flush) land somewhere instead of failing
    run_dir = _state["run_dir"]
    null = os.open(os.devnull, os.O_WRONLY)
    log_fd = null
    if run_dir:
        try:
            log_fd = os.open(os.path.join(run_dir, "train.log"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError:
            pass
    for fd, target in ((1, null), (2, log_fd)):
        try:
            os.dup2(target, fd)
        except OSError:
            pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    try:
        sys.stderr.write(f"[pscl-trainer] {why}: stopping at the next step boundary\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    atexit.register(_remove_own_lock)


def _remove_own_lock():
    """run.lock names this process; with no launcher left to remove it, the trainer does."""
    run_dir = _state["run_dir"]
    if not run_dir:
        return
    path = os.path.join(run_dir, "run.lock")
    try:
        with open(path, encoding="utf-8") as f:
            if json.load(f).get("pid") == os.getpid():
                os.remove(path)
    except (OSError, ValueError, AttributeError):
        pass


def _stdout_closed(poller):
    """True when stdout is a pipe whose reading end has closed."""
    if poller is None:
        return False
    try:
        return any(ev & (select.POLLERR | select.POLLHUP) for _, ev in poller.poll(0))
    except (OSError, ValueError):
        return False


def _watch(parent):
    poller = None
    try:
        fd = sys.__stdout__.fileno()
        if not os.isatty(fd) and hasattr(select, "poll"):
            poller = select.poll()
            poller.register(fd, 0)  # no events asked: POLLERR/POLLHUP are always reported
    except (OSError, ValueError, AttributeError):
        poller = None
    stop = threading.Event()
    while not stop.wait(_POLL_S):
        if _stdout_closed(poller):
            launcher_gone()
            return
        if os.getppid() != parent:
            launcher_gone(f"the launcher (pid {parent}) is gone")
            return


class StopRequest:
    """SIGTERM/SIGINT/SIGHUP, or the launcher going away, set the flag; the loop checkpoints at
    the next step (or micro-batch) boundary and exits."""

    def __init__(self):
        for sig in (signal.SIGTERM, signal.SIGINT, getattr(signal, "SIGHUP", None)):
            if sig is not None:
                signal.signal(sig, self._handle)
        threading.Thread(target=_watch, args=(os.getppid(),), name="pscl-launcher-watch", daemon=True).start()

    @property
    def flag(self):
        return _state["flag"]

    @property
    def signal(self):
        return _state["why"]

    def _handle(self, signum, frame):
        _request(signal.Signals(signum).name)
