"""The trainer's reading of a cache (issue 13): paths in the manifest stay inside their folders,
and a cache that a live build is writing is not read until the build is done."""
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest

from fixtures import make_cache
from pscl_trainer.cachelock import OTHER_HOST_STALE_S, live_holder
from pscl_trainer.data import Manifest
from pscl_trainer.errors import DataError


@pytest.fixture
def cache(tmp_path):
    return make_cache(str(tmp_path / "c"), train_per_class=2, test_per_class=1)


def _edit(cache, edit):
    path = os.path.join(cache, "manifest.json")
    with open(path) as f:
        m = json.load(f)
    edit(m["images"][0])
    with open(path, "w") as f:
        json.dump(m, f)


@pytest.mark.parametrize("bad", ["../../../../etc/passwd", "/etc/passwd", "images/../../outside.png", "images\\..\\x.png"])
def test_an_image_path_out_of_the_dataset_is_refused_unread(cache, bad):
    _edit(cache, lambda e: e.update(path=bad))
    with pytest.raises(DataError, match=r"image 'train0000' has the path .* not a relative path inside the dataset"):
        Manifest(cache).entries("train")


@pytest.mark.parametrize("bad", ["../manifest.json", "masks/../../x.png", "/etc/passwd", "masks/a/b.png"])
def test_a_mask_path_out_of_the_masks_folder_is_refused_unread(cache, bad):
    _edit(cache, lambda e: e.update(mask=bad))
    with pytest.raises(DataError, match=r"names the mask .* which is not a file in .*masks"):
        Manifest(cache).entries("train")


def test_an_image_that_links_out_of_the_dataset_is_refused_unless_allowed(cache, tmp_path, monkeypatch):
    m = Manifest(cache)
    e = m.entries("train")[0]
    inside = m.image_file(e)
    outside = str(tmp_path / "elsewhere.png")
    shutil.move(inside, outside)
    os.symlink(outside, inside)
    with pytest.raises(DataError, match=r"leads to .*elsewhere\.png, outside the dataset folder .*PSCL_DATASET_LINKS_OUTSIDE=1"):
        Manifest(cache).entries("train")
    monkeypatch.setenv("PSCL_DATASET_LINKS_OUTSIDE", "1")
    assert len(Manifest(cache).entries("train")) == 8


def _lock(cache, pid, **over):
    lock = {"format": "pscl-cache-lock", "pid": pid, "host": socket.gethostname(), "startedAt": "2026-01-02T03:04:05Z",
            "command": "pscl cache build", "token": "t", **over}
    with open(os.path.join(cache, ".build.lock"), "w") as f:
        json.dump(lock, f)


def test_the_trainer_waits_while_a_live_build_holds_the_cache(cache, capsys):
    _lock(cache, os.getpid())
    done = threading.Event()
    threading.Thread(target=lambda: (Manifest(cache), done.set()), daemon=True).start()
    time.sleep(1.5)
    assert not done.is_set(), "read a cache that a live build holds"
    os.remove(os.path.join(cache, ".build.lock"))
    assert done.wait(10)
    assert "is being built by pid %d (started 2026-01-02T03:04:05Z, pscl cache build); waiting" % os.getpid() in capsys.readouterr().err


def test_a_stale_lock_does_not_stop_the_trainer(cache):
    dead = subprocess.Popen([sys.executable, "-c", "0"])
    dead.wait()
    for over in ({"pid": dead.pid}, {"pid": os.getpid(), "host": "elsewhere.example"}, {"pid": os.getpid(), "procStart": 1}):
        _lock(cache, **over)
        if over.get("host"):
            # another host's lock is held while its heartbeat is recent; stale once it stops
            assert live_holder(cache)["host"] == "elsewhere.example"
            old = time.time() - OTHER_HOST_STALE_S - 60
            os.utime(os.path.join(cache, ".build.lock"), (old, old))
        assert live_holder(cache) is None, over
        assert Manifest(cache).num_classes == 4
