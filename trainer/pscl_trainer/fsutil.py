"""Atomic file writes (temp file in the same folder, fsync, rename)."""
import json
import os


def write_json_atomic(path, data):
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_json(path, what, error):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        raise error(f"cannot read {what} {path}: {e.strerror}") from None
    except ValueError as e:
        raise error(f"{what} {path} is not valid JSON ({e}); it may be from an interrupted write") from None
