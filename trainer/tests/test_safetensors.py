import os

import numpy as np
import pytest
import torch

from fixtures import write_safetensors
from pscl_trainer.errors import DataError
from pscl_trainer.safetensors_io import load_file, save_file


def test_round_trip_keeps_dtype_shape_values_and_metadata(tmp_path):
    tensors = {
        "a.f32": torch.randn(3, 4), "b.f16": torch.randn(5).half(), "c.bf16": torch.randn(2, 2).bfloat16(),
        "d.i64": torch.arange(6).reshape(2, 3), "e.u8": torch.tensor([0, 255], dtype=torch.uint8),
        "f.bool": torch.tensor([True, False]), "g.scalar": torch.tensor(1.5), "h.empty": torch.zeros(0, 4),
    }
    path = str(tmp_path / "x.safetensors")
    save_file(tensors, path, {"format": "test"})
    back, meta = load_file(path, with_metadata=True)
    assert meta == {"format": "test"}
    assert set(back) == set(tensors)
    for k, t in tensors.items():
        assert back[k].dtype == t.dtype and back[k].shape == t.shape
        assert torch.equal(back[k], t)
    raw = open(path, "rb").read()
    assert (8 + int.from_bytes(raw[:8], "little")) % 8 == 0  # data starts 8-byte aligned
    assert not [f for f in os.listdir(tmp_path) if "tmp" in f]  # atomic write leaves no temp file


def test_reads_a_file_from_an_independent_writer(tmp_path):
    path = str(tmp_path / "p.safetensors")
    arr = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    write_safetensors(path, {"fine": arr})
    assert np.array_equal(load_file(path)["fine"].numpy(), arr)


@pytest.mark.parametrize("damage", ["truncate", "header", "offsets"])
def test_corrupt_files_name_the_file(tmp_path, damage):
    path = str(tmp_path / "bad.safetensors")
    save_file({"w": torch.ones(4)}, path)
    raw = bytearray(open(path, "rb").read())
    if damage == "truncate":
        raw = raw[:-3]
    elif damage == "header":
        raw[9] = ord("!")
    else:
        raw = raw.replace(b"[0,16]", b"[0,99]")
    open(path, "wb").write(bytes(raw))
    with pytest.raises(DataError, match="bad.safetensors"):
        load_file(path)
