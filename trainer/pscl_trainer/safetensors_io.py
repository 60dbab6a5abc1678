"""Reader and writer for the safetensors format (no `safetensors` package needed).

Layout: 8-byte little-endian header length N, N bytes of JSON header
`{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}`
(offsets relative to the byte after the header), then the raw little-endian tensor bytes.
Nothing is ever unpickled.
"""
import json
import os
import struct

import numpy as np
import torch

from .errors import DataError

_TO_CODE = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}
_FROM_CODE = {code: dtype for dtype, code in _TO_CODE.items()}
_NUMPY = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": np.int16,
          "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
_MAX_HEADER = 100 * 1024 * 1024


def _tensor_bytes(t):
    t = t.detach().to("cpu").contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().astype(t.numpy().dtype.newbyteorder("<"), copy=False).tobytes()


def save_file(tensors, path, metadata=None):
    """Write `tensors` (name -> tensor) to `path` atomically (temp file + rename)."""
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name]
        if t.dtype not in _TO_CODE:
            raise TypeError(f"tensor {name!r} has unsupported dtype {t.dtype}")
        data = _tensor_bytes(t)
        header[name] = {"dtype": _TO_CODE[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * (-len(head) % 8)  # keep the data 8-byte aligned
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for data in blobs:
            f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_file(path, with_metadata=False):
    """Read every tensor in `path`; errors name the file and what is wrong with it."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise DataError(f"cannot read {path}: {e.strerror}") from None
    bad = lambda why: DataError(f"{path} is not a valid safetensors file ({why}); write it again")
    if len(raw) < 8:
        raise bad("shorter than its 8-byte header length")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > _MAX_HEADER or 8 + n > len(raw):
        raise bad(f"header length {n} does not fit the file of {len(raw)} bytes")
    try:
        header = json.loads(raw[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise bad(f"header is not JSON: {e}") from None
    if not isinstance(header, dict):
        raise bad("header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    data = memoryview(raw)[8 + n:]
    out = {}
    for name, info in header.items():
        try:
            code, shape, (begin, end) = info["dtype"], [int(d) for d in info["shape"]], info["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise bad(f"entry {name!r} lacks dtype/shape/data_offsets") from None
        if code not in _FROM_CODE:
            raise bad(f"tensor {name!r} has unknown dtype {code}")
        count = int(np.prod(shape)) if shape else 1
        size = count * np.dtype(_NUMPY[code]).itemsize
        if not (0 <= begin <= end <= len(data)) or end - begin != size:
            raise bad(f"tensor {name!r} has offsets {begin}..{end} but needs {size} bytes")
        arr = np.frombuffer(data[begin:end], dtype=np.dtype(_NUMPY[code]).newbyteorder("<"), count=count)
        t = torch.from_numpy(arr.astype(arr.dtype.newbyteorder("="), copy=True)).reshape(shape)
        if code == "BF16":
            t = t.view(torch.bfloat16)
        out[name] = t
    return (out, metadata) if with_metadata else out
