"""Compact (merge stage): store a merged PDF's shared resources once and write its small
objects into compressed object streams."""

from __future__ import annotations

import hashlib
import io
import zlib
from typing import IO, Any

from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, PdfObject, StreamObject

from press.pdf.structure import idnum


def store_once(writer: PdfWriter) -> None:
    """Store identical resources once: fonts, logos, images, colour profiles and content
    streams (crop marks) shared by several parts or pages (``compress_identical_objects``,
    limited to what pages draw with).

    Two resources are the same when their content is and the resources they refer to are
    the same in turn (a logo's form XObject equals its twin once their fonts do), so one
    pass over the few hundred resources does what repeated passes over every object did.
    Then every reference to a duplicate is pointed at the one kept, and unreferenced
    objects are dropped.
    """
    objects = writer._objects
    resources: set[int] = set()
    stack: list[Any] = [page.raw_get(key) for page in writer.pages
             for key in ("/Resources", "/Contents") if key in page]
    while stack:
        value = stack.pop()
        if isinstance(value, IndirectObject):
            if value.idnum in resources or objects[value.idnum - 1] is None:
                continue
            resources.add(value.idnum)
            value = objects[value.idnum - 1]
        if isinstance(value, DictionaryObject):
            stack.extend(value.values())
        elif isinstance(value, ArrayObject):
            stack.extend(value)
    keys: dict[int, str] = {}

    def canonical(value: object) -> tuple[object, ...]:
        if isinstance(value, IndirectObject):
            return ("R", key(value.idnum)) if value.idnum in resources else ("r", value.idnum)
        if isinstance(value, DictionaryObject):
            items = tuple(sorted((str(k), canonical(v)) for k, v in value.items()))
            return ("S", items, value._data) if isinstance(value, StreamObject) else ("D", items)
        if isinstance(value, ArrayObject):
            return ("A", tuple(canonical(v) for v in value))
        return (type(value).__name__, value)

    def key(number: int) -> str:
        if number not in keys:
            keys[number] = f"cycle {number}"  # a reference loop: compare by identity
            keys[number] = hashlib.sha256(repr(canonical(objects[number - 1])).encode()) \
                .hexdigest()
        return keys[number]

    kept: dict[str, int] = {}
    same: dict[int, IndirectObject] = {}
    for number in sorted(resources):
        first = kept.setdefault(key(number), number)
        if first != number:
            same[number] = _reference(objects[first - 1])
    referenced = {idnum(writer.root_object.indirect_reference)}
    if writer._info is not None:
        referenced.add(idnum(writer._info.indirect_reference))

    def repoint(value: DictionaryObject | ArrayObject) -> None:
        pairs = value.items() if isinstance(value, DictionaryObject) else enumerate(value)
        for k, v in list(pairs):
            if isinstance(v, IndirectObject):
                if v.idnum in same:
                    value[k] = v = same[v.idnum]
                referenced.add(v.idnum)
            elif isinstance(v, (DictionaryObject, ArrayObject)):
                repoint(v)

    for number, obj in enumerate(objects, start=1):
        if number in same:
            objects[number - 1] = None
        elif isinstance(obj, (DictionaryObject, ArrayObject)):
            repoint(obj)
    for number in range(1, len(objects) + 1):
        if number not in referenced:
            objects[number - 1] = None


def _reference(obj: PdfObject | None) -> IndirectObject:
    """The reference of one of a writer's objects (each has one)."""
    assert obj is not None and obj.indirect_reference is not None
    return obj.indirect_reference


class PackingWriter(PdfWriter):
    """A ``PdfWriter`` that writes its small objects into compressed object streams (PDF 1.5+).

    pypdf writes every object on its own, uncompressed; a merged web bundle has thousands of
    small structure elements, which object streams shrink about tenfold. Streams (page
    contents, fonts, images) are written as they are; the cross-reference table becomes a
    compressed cross-reference stream.
    """

    per_stream = 1000

    def write_stream(self, stream: IO[Any]) -> None:
        self._resolve_links()
        stream.write(b"%PDF-" + max(self.pdf_header[5:], "1.5").encode()
                     + b"\n%\xe2\xe3\xcf\xd3\n")
        where: dict[int, tuple[int, int, int]] = {}
        packed: list[tuple[int, Any]] = []
        for number, obj in enumerate(self._objects, start=1):
            if isinstance(obj, StreamObject):
                where[number] = (1, stream.tell(), 0)
                stream.write(f"{number} 0 obj\n".encode())
                obj.write_to_stream(stream)
                stream.write(b"\nendobj\n")
            elif obj is not None:
                packed.append((number, obj))
        next_number = len(self._objects) + 1
        for start in range(0, len(packed), self.per_stream):
            chunk = packed[start: start + self.per_stream]
            header: list[str] = []
            body = io.BytesIO()
            for index, (number, obj) in enumerate(chunk):
                header.append(f"{number} {body.tell()}")
                obj.write_to_stream(body)
                body.write(b"\n")
                where[number] = (2, next_number, index)
            first = (" ".join(header) + "\n").encode()
            payload = zlib.compress(first + body.getvalue(), 9)
            where[next_number] = (1, stream.tell(), 0)
            stream.write(f"{next_number} 0 obj\n<< /Type /ObjStm /N {len(chunk)} /First "
                         f"{len(first)} /Filter /FlateDecode /Length {len(payload)} >>\n"
                         "stream\n".encode())
            stream.write(payload + b"\nendstream\nendobj\n")
            next_number += 1
        xref_number = next_number
        where[xref_number] = (1, stream.tell(), 0)
        # Rows of 7 bytes, each stored as its difference from the row above (PNG "Up"
        # predictor): neighbouring offsets differ little, so this compresses about sevenfold.
        rows, previous = bytearray(), bytes(7)
        for number in range(xref_number + 1):
            kind, field2, field3 = where.get(number, (0, 0, 0 if number else 65535))
            row = bytes([kind]) + field2.to_bytes(4, "big") + field3.to_bytes(2, "big")
            rows += b"\x02" + bytes((a - b) & 0xFF for a, b in zip(row, previous))
            previous = row
        payload = zlib.compress(bytes(rows), 9)
        extra = f" /Root {idnum(self.root_object.indirect_reference)} 0 R"
        if self._info is not None:
            extra += f" /Info {idnum(self._info.indirect_reference)} 0 R"
        if self._ID is not None:
            extra += " /ID [" + " ".join(f"<{bytes(i).hex()}>" for i in self._ID) + "]"
        stream.write(f"{xref_number} 0 obj\n<< /Type /XRef /Size {xref_number + 1} "
                     f"/W [1 4 2]{extra} /Filter /FlateDecode /DecodeParms << /Predictor 12 "
                     f"/Columns 7 >> /Length {len(payload)} >>\n"
                     "stream\n".encode())
        stream.write(payload + b"\nendstream\nendobj\n")
        stream.write(f"startxref\n{where[xref_number][1]}\n%%EOF\n".encode())
