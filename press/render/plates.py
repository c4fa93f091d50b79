"""Print edition stage: what reaches the plates — raster images separated to the press's CMYK
through its output profile (LittleCMS), and 100 % black text set to overprint."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import pydyf

if TYPE_CHECKING:  # Pillow is imported where it is used (only print files need it)
    from PIL import Image, ImageCms

OVERPRINT = "GSBlackOverprint"  # ExtGState names added to every resource dictionary
KNOCKOUT = "GSBlackKnockout"
BLACK = (0.0, 0.0, 0.0, 1.0)
JPEG_QUALITY = 92  # a photo separated to CMYK and compressed again: near the camera's own


def intent_profile(pdf: pydyf.PDF) -> bytes | None:
    """The ICC profile bytes of the PDF's output intent (what its CMYK means on press)."""
    intents = pdf.catalog.get("OutputIntents")
    if not intents:
        return None
    stream = _object(pdf, intents[0].get("DestOutputProfile"))
    if not isinstance(stream, pydyf.Stream):
        return None
    data = b"".join(_bytes(item) for item in stream.stream)
    if stream.extra.get("Filter") == "/FlateDecode" and not stream.compress:
        data = zlib.decompress(data)
    return data


def images_to_cmyk(pdf: pydyf.PDF, profile: bytes) -> int:
    """Separate every RGB raster image of ``pdf`` to CMYK through ``profile`` (the output
    intent's): perceptual rendering from sRGB, or from the profile a JPEG carries. Returns
    the count converted.

    WeasyPrint embeds a JPEG as it is (DCTDecode) and anything else as PNG rows (FlateDecode
    with a PNG predictor); a JPEG stays a JPEG (Pillow writes Adobe's inverted CMYK, hence
    the Decode array), the rest becomes deflated CMYK samples. Alpha stays in the grey SMask.
    """
    from PIL import Image

    converted = 0
    for obj in pdf.objects:
        if not (isinstance(obj, pydyf.Stream) and obj.extra.get("Subtype") == "/Image"
                and obj.extra.get("ColorSpace") == "/DeviceRGB"):
            continue
        data = b"".join(_bytes(item) for item in obj.stream)
        jpeg = obj.extra.get("Filter") == "/DCTDecode"
        if jpeg:
            opened = Image.open(io.BytesIO(data))
            source = opened.info.get("icc_profile") or b""
            image = opened.convert("RGB")
        else:
            image = _png_rows(data, int(obj.extra["Width"]), int(obj.extra["Height"]))
            source = b""
        cmyk = _transform(hashlib.sha256(profile).digest(), profile, source).apply(image)
        if jpeg:
            out = io.BytesIO()
            cmyk.save(out, format="JPEG", quality=JPEG_QUALITY, subsampling=0)
            obj.stream = [out.getvalue()]
            obj.extra["Decode"] = pydyf.Array((1, 0) * 4)
        else:
            obj.stream = [zlib.compress(cmyk.tobytes(), 6)]
            obj.extra.pop("DecodeParms", None)
            obj.extra["Filter"] = "/FlateDecode"
        obj.compress = False
        obj.extra["ColorSpace"] = "/DeviceCMYK"
        converted += 1
    return converted


def _png_rows(data: bytes, width: int, height: int) -> Image.Image:
    """The image in WeasyPrint's PNG-predicted rows (a PNG's IDAT data), read by Pillow."""
    from PIL import Image

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack("!I", len(body)) + kind + body
                + struct.pack("!I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    header = struct.pack("!IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data)
           + chunk(b"IEND", b""))
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


@lru_cache(maxsize=8)
def _transform(key: bytes, profile: bytes, source: bytes) -> ImageCms.ImageCmsTransform:
    """One LittleCMS transform per output profile (and source profile), kept for the process:
    building it reads the profile's tables (a few hundred KB)."""
    from PIL import ImageCms

    del key  # in the cache key only: hashing the profile once is cheaper than comparing it
    rgb = (ImageCms.ImageCmsProfile(io.BytesIO(source)) if source
           else ImageCms.createProfile("sRGB"))
    return ImageCms.buildTransform(
        rgb, ImageCms.ImageCmsProfile(io.BytesIO(profile)), "RGB", "CMYK",
        renderingIntent=ImageCms.Intent.PERCEPTUAL,
        flags=ImageCms.Flags.BLACKPOINTCOMPENSATION)


def black_overprint(pdf: pydyf.PDF) -> int:
    """Make text in 100 % K overprint, so that it prints over the tints
    under it instead of knocking a hole in the C, M and Y plates (a halo on any
    misregistration). Returns the count of text objects set to overprint.

    Runs after :func:`press.render.print.to_cmyk`: each text object whose fill is 0 0 0 1
    switches to an ``/OP true /op true /OPM 1`` graphics state and switches back at ``ET``
    (a box or rule painted next in a colour with a zero component must still knock out).
    """
    overprinting = 0
    used = False
    for obj in pdf.objects:
        if not isinstance(obj, pydyf.Stream) or obj.extra.get("Subtype") in ("/Image", "/XML"):
            continue
        items = obj.stream
        fill: tuple[float, ...] | None = None
        on, in_text = False, False
        stack: list[tuple[tuple[float, ...] | None, bool]] = []
        for index, item in enumerate(items):
            if isinstance(item, str):
                item = item.encode()
            if not isinstance(item, bytes) or len(item) > 64:
                continue
            words = item.split()
            if not words:
                continue
            changes = False
            for at, word in enumerate(words):
                if word == b"q":
                    stack.append((fill, on))
                elif word == b"Q" and stack:
                    fill, on = stack.pop()
                elif word == b"k" and at >= 4:
                    try:
                        fill = tuple(float(v) for v in words[at - 4:at])
                    except ValueError:
                        continue
                    changes = True
                elif word in (b"BT", b"ET"):
                    in_text = word == b"BT"
                    changes = True
            want = in_text and fill == BLACK
            if changes and want != on:
                on = want
                items[index] = item + f" /{OVERPRINT if want else KNOCKOUT} gs".encode()
                used = True
                overprinting += want
    if used:
        _add_states(pdf)
    return overprinting


def _add_states(pdf: pydyf.PDF) -> None:
    """Put the two graphics states in every resource dictionary (pages' and forms')."""
    states = {OVERPRINT: pydyf.Dictionary({"Type": "/ExtGState", "OP": "true", "op": "true",
                                           "OPM": 1}),
              KNOCKOUT: pydyf.Dictionary({"Type": "/ExtGState", "OP": "false",
                                          "op": "false"})}
    for state in states.values():
        pdf.add_object(state)
    holders = [pdf.objects[n] for n in pdf.pages["Kids"][::3]]
    holders += [obj.extra for obj in pdf.objects
                if isinstance(obj, pydyf.Stream) and obj.extra.get("Subtype") == "/Form"]
    done = set()
    for holder in holders:
        resources = _object(pdf, holder.get("Resources"))
        if not isinstance(resources, dict) or id(resources) in done:
            continue
        done.add(id(resources))
        graphics = _object(pdf, resources.get("ExtGState"))
        if graphics is None:
            graphics = resources["ExtGState"] = pydyf.Dictionary()
        for name, state in states.items():
            graphics[name] = state.reference


def _object(pdf: pydyf.PDF, value: object) -> Any:  # a pydyf object: untyped
    """``value``, or the object it refers to (pydyf references are ``b"12 0 R"``)."""
    if isinstance(value, (str, bytes)):
        parts = (value.decode("ascii", "replace") if isinstance(value, bytes)
                 else value).split()
        if len(parts) == 3 and parts[2] == "R" and parts[0].isdigit():
            return pdf.objects[int(parts[0])]
    return value


def _bytes(item: object) -> bytes:
    data = getattr(item, "data", item)  # WeasyPrint's lazy image data
    return data if isinstance(data, bytes) else str(data).encode()
