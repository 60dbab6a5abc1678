"""The decode contract (docs/image-decoding.md): what every pixel of an image file becomes, held
here with Pillow as by the cache builder and classify with sharp (src/core/clip/decode.ts), so the
trainer learns from the pixels the masks were computed on. 8-bit RGB:
  - EXIF orientation applied
  - ICC profiles ignored: stored values are taken as sRGB
  - CMYK: per channel (255 - K) - round(X (255 - K) / 255), Pillow's integer form, written out here
    so it does not depend on the Pillow version
  - 16-bit samples: the high byte (v >> 8); Pillow keeps 16-bit grey as mode I;16 / I, which
    convert("RGB") would clip to white
  - palette: its RGB colours; grey (1, 8 or 16 bit) replicated; alpha dropped, colour kept
"""
import numpy as np
from PIL import Image, ImageOps

_WIDE_GREY = ("I;16", "I;16B", "I;16L", "I;16N", "I")


def to_rgb(im):
    """An opened Pillow image (orientation applied) as an RGB image by the contract."""
    if im.mode == "CMYK":
        c = np.asarray(im, dtype=np.int32)
        nk = 255 - c[..., 3:4]
        t = c[..., :3] * nk + 128
        rgb = nk - (((t >> 8) + t) >> 8)
        return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")
    if im.mode in _WIDE_GREY:
        v = np.asarray(im).astype(np.int64)
        grey = np.clip(v >> 8, 0, 255).astype(np.uint8)
        return Image.fromarray(np.repeat(grey[..., None], 3, axis=2), "RGB")
    return im.convert("RGB")


def read_rgb(path):
    """Decodes `path` by the contract; raises what Pillow raises for unreadable files."""
    with Image.open(path) as im:
        im.load()
        try:
            im = ImageOps.exif_transpose(im)
        except Exception:  # noqa: BLE001 - a malformed EXIF block: keep the stored orientation
            pass
        return to_rgb(im)
