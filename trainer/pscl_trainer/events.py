"""Run events (docs/run-events.md): one JSON object per line on stdout and in events.jsonl.
Human logs go to stderr. Only rank 0 writes events; every rank may log. When the launcher is gone
(stdout or stderr closed), events still go to events.jsonl and the run stops (stopping.py)."""
import json
import math
import os
import sys
import time

from . import stopping


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN/Infinity; readers see null
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


class Events:
    def __init__(self, run_dir=None, enabled=True):
        self.enabled = enabled
        self.path = os.path.join(run_dir, "events.jsonl") if run_dir and enabled else None
        if self.path:
            stopping.set_run_dir(run_dir)

    def emit(self, type_, **fields):
        if not self.enabled:
            return
        event = {"type": type_, "time": round(time.time(), 3)}
        event.update(_finite(fields))
        line = json.dumps(event, separators=(",", ":"))
        try:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        except (OSError, ValueError):  # the launcher closed the pipe: the file still gets it
            stopping.launcher_gone()
        if self.path:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line + "\n")


def log(message, rank=None):
    prefix = f"[pscl-trainer rank {rank}] " if rank is not None else "[pscl-trainer] "
    for _ in range(2):
        try:
            sys.stderr.write(prefix + message + "\n")
            sys.stderr.flush()
            return
        except (OSError, ValueError):  # the launcher closed the pipe: log to train.log from now on
            stopping.launcher_gone("stderr closed: the launcher is gone")
