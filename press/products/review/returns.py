"""Review stage: the returned drafts in ``content/reviews/<slug>/<round>/`` → their comments.

Every file there is untrusted: its size is checked from ``stat`` before a byte is read, the
reading of each file has a time limit (``PRESS_TIME_LIMIT_REVIEW``), only regular files
directly in the folder are read (a link, or a folder, is refused by name), and the PDF is only
ever parsed (pypdf and pdfium run no script). A file that cannot be used is reported by name
and left out; a PDF with no comments left is reported as flattened or printed, which loses
them.
"""

from __future__ import annotations

import io
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from press.core import limits
from press.errors import Problems

if TYPE_CHECKING:
    import pypdfium2
    from pypdf.generic import DictionaryObject

MAX_BYTES = 50 * 1024 * 1024
MAX_PAGES = 400
MAX_ANNOTATIONS = 5000
MAX_TEXT = 4000  # characters kept of one comment
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
BAND_RE = re.compile(r"Review draft\s*[—-]\s*round\s+([a-z0-9][a-z0-9-]*)")
KINDS = {"/Text": "note", "/FreeText": "note", "/Highlight": "highlight",
         "/StrikeOut": "strike-out", "/Underline": "underline", "/Squiggly": "squiggly",
         "/Caret": "insert", "/Ink": "drawing", "/Square": "drawing", "/Circle": "drawing",
         "/Line": "drawing", "/Polygon": "drawing", "/PolyLine": "drawing", "/Stamp": "stamp"}
MARKUP = {"highlight", "strike-out", "underline", "squiggly"}


@dataclass
class Comment:
    file: str  # the return's file name
    page: int  # page of the draft, from 0; negative: on the note to reviewers before it
    kind: str
    author: str
    text: str
    quads: list[tuple[float, float, float, float]]  # rectangles, PDF points, bottom left
    rect: tuple[float, float, float, float]
    ident: str  # unique within the return (its object number, or /NM)
    reply_to: str = ""  # ident of the comment this replies to
    group: bool = False  # part of a group (/RT /Group: a replacement's strike-out + caret)
    quoted: str = ""  # the text the comment marks, read from the page
    date: str = ""


@dataclass
class Return:
    path: Path
    round: str  # the round whose draft was annotated ("" if it could not be told)
    reviewer_key: str  # from the pack's identity ("" if it was lost)
    note_pages: int
    pages: int  # of the draft (the file's, less the note pages)
    identified: bool = True  # the pack's Info entry was kept (else note pages are guessed)
    data: bytes = b""  # the file as read (its size checked): the text is read from it again
    comments: list[Comment] = field(default_factory=list)


def read_returns(folder: Path, problems: Problems) -> list[Return]:
    """Every usable return in ``folder`` (sorted by name); the others are problems."""
    if not folder.is_dir():
        return []
    if folder.is_symlink():
        problems.error(folder, None, "the returns folder is a link; nothing read",
                       "put the returned PDFs in a folder of the project itself")
        return []
    found = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        got = read_return(path, problems)
        if got is not None:
            found.append(got)
    return found


def read_return(path: Path, problems: Problems) -> Return | None:
    def refuse(message: str, hint: str = "") -> Return | None:
        """The file is left out, with an error: None, what this function returns for it."""
        problems.error(path, None, message + "; left out", hint)
        return None

    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):  # reported at the folder: a path is shown resolved
        problems.error(path.parent, None, f"'{path.name}' is a link, not a file; left out",
                       "copy the returned file itself into the folder")
        return None
    if not stat.S_ISREG(info.st_mode):
        return refuse("not a file", "put only the returned PDFs in this folder")
    if info.st_size > MAX_BYTES:
        return refuse(f"larger than {MAX_BYTES // 2**20} MB",
                      "ask for the PDF to be saved again (File > Save As), not printed")
    with path.open("rb") as handle:
        data = handle.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:  # grew since the stat
        return refuse(f"larger than {MAX_BYTES // 2**20} MB")
    if b"%PDF-" not in data[:1024]:
        return refuse("not a PDF", "only the returned review drafts belong here")
    from pypdf.errors import DependencyError, PyPdfError

    try:
        with limits.time_limit("review"):
            return _read(path, data, refuse)
    except limits.TimeLimitExceeded as exc:
        return refuse(f"reading it did not finish within {exc.seconds:g} s",
                      "a PDF this slow to read is damaged or hostile; ask for a fresh copy")
    except DependencyError as exc:
        return refuse(f"cannot be decrypted: {exc}")
    except (PyPdfError, ValueError, KeyError, TypeError, IndexError, AttributeError,
            RecursionError, OSError, AssertionError) as exc:
        return refuse(f"cannot be read as a PDF ({type(exc).__name__}: {str(exc)[:80]})")


def _read(path: Path, data: bytes, refuse: Callable[..., Return | None]) -> Return | None:
    from pypdf import PasswordType, PdfReader

    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
        return refuse("encrypted with a password",
                      "ask the reviewer for a copy saved without a password")
    pages = len(reader.pages)
    if not pages:
        return refuse("has no pages: it is damaged, or not a whole PDF")
    if pages > MAX_PAGES:
        return refuse(f"has {pages} pages, more than a review draft")
    info = reader.metadata
    identity = str(info.get("/PressReview", "") or "") if info else ""
    parts = identity.split("/")
    round_name, key, notes = "", "", 0
    if len(parts) == 4 and parts[3].isdigit():
        round_name, key, notes = parts[1], parts[2], int(parts[3])
    found = Return(path, round_name, key, notes, pages - notes, bool(identity), data)
    raw: list[tuple[int, str, DictionaryObject]] = []
    by_object: dict[int, str] = {}
    for number, page in enumerate(reader.pages):
        for index, ref in enumerate(page.get("/Annots") or []):
            annot = ref.get_object()
            if not hasattr(annot, "get") or annot.get("/Subtype") not in KINDS:
                continue
            if len(raw) >= MAX_ANNOTATIONS:
                return refuse(f"has more than {MAX_ANNOTATIONS} comments")
            ident = _ident(ref, annot, number, index)
            raw.append((number, ident, annot))
            if hasattr(ref, "idnum"):
                by_object[ref.idnum] = ident
    if not found.round:
        found.round = _band_round(data, notes)
    for number, ident, annot in raw:
        # (a comment on the note to reviewers has a negative page: a general comment)
        found.comments.append(_comment(path, number - notes, ident, annot, by_object))
    return found


def _ident(ref: object, annot: DictionaryObject, page: int, index: int) -> str:
    """The comment's identity within its return: its object number (a name, /NM, is not
    unique: MuPDF names the first comment of every page 'fitz-A0')."""
    if hasattr(ref, "idnum"):
        return f"obj:{ref.idnum}"
    return f"p{page + 1}:{index}"


def _comment(path: Path, page: int, ident: str, annot: DictionaryObject,
             by_object: dict[int, str]) -> Comment:
    kind = KINDS[str(annot["/Subtype"])]
    reply_to = ""
    parent = annot.get("/IRT")
    if parent is not None:  # a reply, or a part of a group, names its parent annotation
        idnum = getattr(parent, "idnum", None)  # a direct object has none: no parent found
        reply_to = by_object.get(idnum, "") if idnum is not None else ""
    group = annot.get("/RT") == "/Group"
    if parent is not None and not group and kind == "note":
        kind = "reply"
    given = _numbers(annot.get("/Rect"), 4) or [0.0, 0.0, 0.0, 0.0]
    rect = (min(given[0], given[2]), min(given[1], given[3]),
            max(given[0], given[2]), max(given[1], given[3]))
    quads: list[tuple[float, float, float, float]] = []
    points = _numbers(annot.get("/QuadPoints"), None) or []
    for start in range(0, len(points) - 7, 8):
        xs, ys = points[start:start + 8:2], points[start + 1:start + 8:2]
        quads.append((min(xs), min(ys), max(xs), max(ys)))
    if kind in MARKUP and not quads:
        quads = [rect]
    return Comment(path.name, page, kind, clean(annot.get("/T")), clean(annot.get("/Contents")),
                   quads, rect, ident, reply_to, group, date=clean(annot.get("/M"))[:40])


def _numbers(value: Any, count: int | None) -> list[float] | None:
    try:
        numbers = [float(v) for v in (value or [])]
    except (TypeError, ValueError):
        return None
    if count is not None and len(numbers) != count:
        return None
    return numbers


def clean(value: object) -> str:
    if value is None:
        return ""
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    return CONTROL_RE.sub(" ", text).strip()[:MAX_TEXT]


def _band_round(data: bytes, notes: int) -> str:
    """The round named in the band of the first draft page (a reader that dropped the pack's
    Info dictionary keeps the page's text)."""
    import pypdfium2

    try:
        document = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError:
        return ""
    try:
        for index in range(notes, min(len(document), notes + 3)):
            text = document[index].get_textpage().get_text_range()
            match = BAND_RE.search(text)
            if match:
                return match.group(1)
    finally:
        document.close()
    return ""


def skip_notes(returned: Return, draft_pages: int) -> None:
    """A return whose reader dropped the pack's Info entry (macOS Preview rewrites it): the
    pages it has beyond the draft's are the note to reviewers at its front."""
    extra = returned.pages - draft_pages
    if returned.identified or not 0 < extra <= 5:
        return
    returned.note_pages += extra
    returned.pages -= extra
    for comment in returned.comments:
        comment.page -= extra


def quote_marked(returned: Return) -> None:
    """The text under each marking comment (its quads), read with pdfium; a page it cannot
    read leaves the comments unquoted (they are still placed by position)."""
    import pypdfium2

    wanted = [c for c in returned.comments if c.kind in MARKUP or c.group]
    if not wanted:
        return
    try:
        with limits.time_limit("review"):
            document = pypdfium2.PdfDocument(returned.data)
            try:
                for comment in wanted:
                    comment.quoted = _under(document, comment, returned.note_pages)
            finally:
                document.close()
    except (pypdfium2.PdfiumError, limits.TimeLimitExceeded, IndexError):
        return


def _under(document: pypdfium2.PdfDocument, comment: Comment, notes: int) -> str:
    text_page = document[comment.page + notes].get_textpage()
    parts: list[str] = []
    for x0, y0, x1, y1 in comment.quads:
        # shrink the quad a little: a generous highlight reaches the lines above and below
        inset = (y1 - y0) * 0.2
        parts.append(text_page.get_text_bounded(x0, y0 + inset, x1, y1 - inset))
    return tidy(" ".join(parts))


def tidy(text: str) -> str:
    """Text read from a page: hyphenation undone, line ends as spaces."""
    text = re.sub("[\x02\u00ad]\\s*", "", text)
    text = re.sub(r"-\r?\n", "-", text)
    return " ".join(text.split())[:MAX_TEXT]
