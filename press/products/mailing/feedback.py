"""Mailing, feedback: the fillable, tagged feedback form of every recipient of a mailing.

The form is laid out ONCE per mailing (layouts/feedback.html, WeasyPrint with ``pdf_forms``)
with its personal fields empty, then finished with pypdf: WeasyPrint 70 ignores ``readonly``,
prints ``type=hidden`` and names radio states ``/0``, ``/1``. Each recipient's copy is that
form with the agency, link officer, items and the hidden identifier written into its
read-only fields, so a mailing of a hundred agencies costs one layout, not a hundred.

The identifier ``BPF1:<mailing>:<recipient>:<check>`` is a hidden read-only field (the copy
that survives filling in and saving), the ``/BriefingPressFormId`` of the document info (a
fallback) and, readable, the form reference printed at the foot. ``<check>`` is a digest that
catches a damaged or hand-edited identifier; it is not a secret, so it proves nothing about
who sent a form back.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterable
from pathlib import Path

from press.core import csvsafe, output
from press.products.mailing import appearance
from press.products.mailing.model import Recipient
from press.products.mailing.questions import Question, load_questions

ID_FIELD = "bp_form_id"
REFERENCE_FIELD = "bp_reference"
ID_INFO_KEY = "/BriefingPressFormId"
PERSONAL = ("agency", "link_officer", "items_sent", ID_FIELD, REFERENCE_FIELD)
FF_READ_ONLY, FF_MULTILINE = 1, 1 << 12  # field flags (PDF 32000-1 table 221)
F_HIDDEN, F_PRINT = 1 << 1, 1 << 2  # annotation flags (table 165)
ID_RE = re.compile(r"BPF1:([a-z0-9][a-z0-9-]*):([a-z0-9][a-z0-9-]*):([0-9a-f]{10})")
EMAIL_COLUMNS = ("to", "subject", "body", "attachment")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower().replace("'", "")).strip("-") or "agency"


def recipient_keys(recipients: Iterable[Recipient]) -> dict[str, Recipient]:
    """key → recipient: the agency's slug, made unique in the order of the recipients file."""
    keys: dict[str, Recipient] = {}
    for recipient in recipients:
        key, n = slug(recipient.agency), 2
        while key in keys:
            key, n = f"{slug(recipient.agency)}-{n}", n + 1
        keys[key] = recipient
    return keys


def form_id(mailing_id: str, key: str) -> str:
    body = f"{mailing_id}:{key}"
    return f"BPF1:{body}:{hashlib.sha256(body.encode()).hexdigest()[:10]}"


def parse_form_id(value) -> tuple[str, str] | None:
    """(mailing, recipient key) of a well-formed, undamaged identifier, else None."""
    match = ID_RE.fullmatch(str(value or "").strip())
    if not match or form_id(match[1], match[2]) != match[0]:
        return None
    return match[1], match[2]


def items_text(mailing, recipient) -> str:
    return "\n".join(f"{item.copies_for(recipient)} × {item.title}" for item in mailing.items)


# -- the blank form ----------------------------------------------------------------------------

def render_blank(project, mailing, questions: tuple[Question, ...]) -> bytes:
    """Lay out the form once and finish it; WeasyPrint errors fail the mailing."""
    from press.briefing import layout
    from press.model import Page
    from press.render import typeset  # WeasyPrint: a no-op build never lays anything out

    env = layout.environment(project.layouts)
    series = mailing.series
    html = env.get_template("feedback.html").render(
        mailing=mailing, series=series, questions=questions, date_label=mailing.date_label,
        created=mailing.date.isoformat(), css_url=layout.file_url(project.layouts /
                                                                 "feedback.css"),
        asset=lambda rel: layout.file_url(project.assets / rel))
    page = Page(html=html, base_url=layout.file_url(project.layouts) + "/",
                name="layouts/feedback.html")
    laid_out = typeset.render(page, project.root, forms=True)
    # an RGB screen form: no CMYK output intent (the layouts' @color-profile, 139 KB)
    laid_out.document.color_profiles.clear()
    pdf = typeset.write(laid_out, None, pdf_variant="pdf/ua-1",
                        pdf_identifier=output.identifier(mailing.id, "feedback"))
    return finish(pdf, questions)


def _widgets(writer):
    for page in writer.pages:
        for ref in page.get("/Annots", []):
            annot = ref.get_object()
            if annot.get("/Subtype") == "/Widget":
                yield annot


def finish(pdf: bytes, questions: tuple[Question, ...]) -> bytes:
    """What WeasyPrint 70 leaves out: read-only flags, the hidden identifier, radio states
    named by their values, the question as the group's accessible name and the question and
    option as each option's (the /Alt of its /Form element), a /Helv font; the field font
    cut to what a filler types, and no ``NeedAppearances`` (the pre-filled fields get their
    appearance in :func:`personal_forms`)."""
    from pypdf import PdfWriter
    from pypdf.generic import DictionaryObject, NameObject, NumberObject, TextStringObject

    by_name = {q.name: q for q in questions}
    writer = PdfWriter(clone_from=io.BytesIO(pdf))
    groups, option_names = {}, {}
    for annot in _widgets(writer):
        parent = annot.get("/Parent")
        if parent is not None:  # a radio button: its group is the field
            groups[parent.idnum] = parent.get_object()
            continue
        name = annot.get("/T")
        if name in PERSONAL:
            annot[NameObject("/Ff")] = NumberObject(int(annot.get("/Ff", 0)) | FF_READ_ONLY)
        if name == ID_FIELD:
            annot[NameObject("/F")] = NumberObject(F_HIDDEN)  # hidden and not printed
    for group in groups.values():
        question = by_name[str(group["/T"])]
        group[NameObject("/TU")] = TextStringObject(question.label)
        opt = [str(o) for o in group.get("/Opt", [])]
        labels = dict(question.choices)
        for i, kid_ref in enumerate(group["/Kids"]):
            kid = kid_ref.get_object()
            value = opt[i] if i < len(opt) else str(i)
            # A kid with its own /T is a field of its own to pypdf and to the spec: its
            # value would land on the kid, not on the group.
            for key in ("/T", "/FT", "/TU"):
                kid.pop(NameObject(key), None)
            kid[NameObject("/Contents")] = TextStringObject(labels.get(value, value))
            option_names[kid_ref.idnum] = f"{question.label} {labels.get(value, value)}"
            normal = kid["/AP"]["/N"]
            old = NameObject(f"/{i}")
            if old in normal:
                normal[NameObject(f"/{value}")] = normal.pop(old)
            kid[NameObject("/AS")] = NameObject(f"/{value}" if kid.get("/AS") == old
                                                else "/Off")
        group.pop(NameObject("/Opt"), None)  # the states are the values now
        group[NameObject("/V")] = NameObject("/Off")
    # WeasyPrint's /DR is the page's resources, without the /Helv that many fillers write
    # in their /DA (poppler then shows no text): give the form its own.
    acro = writer._root_object["/AcroForm"]
    old_fonts = acro["/DR"].get_object().get("/Font", DictionaryObject()).get_object()
    fonts = DictionaryObject({NameObject(k): v for k, v in old_fonts.items()})
    fonts[NameObject("/Helv")] = writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica"),
        NameObject("/Encoding"): NameObject("/WinAnsiEncoding")}))
    acro[NameObject("/DR")] = DictionaryObject({NameObject("/Font"): fonts})
    acro.pop(NameObject("/NeedAppearances"), None)
    for page in writer.pages:  # the return address's link prints like the rest (outloud)
        for ref in page.get("/Annots", []):
            annot = ref.get_object()
            if annot.get("/Subtype") == "/Link":
                annot[NameObject("/F")] = NumberObject(int(annot.get("/F", 0)) | F_PRINT)
    _name_options(writer, option_names)
    for font in {m["font"] for annot in _widgets(writer)
                 if (m := appearance.DA_RE.search(str(annot.get("/DA", ""))))}:
        appearance.subset_field_font(writer, f"/{font}")
    return _written(writer)


def _name_options(writer, names: dict[int, str]) -> None:
    """Each radio option's /Form structure element gets the question and the option as its
    /Alt: a screen reader announces "How useful ...? Useful", not three unnamed buttons."""
    from pypdf.generic import NameObject, TextStringObject

    for number, element in _form_elements(writer).items():
        if number in names:
            element[NameObject("/Alt")] = TextStringObject(names[number])


def _form_elements(writer) -> dict:
    """Widget annotation object number → its /Form structure element."""
    from pypdf.generic import ArrayObject

    found = {}
    root = writer._root_object.get("/StructTreeRoot")
    stack = [root.get_object()] if root is not None else []
    while stack:
        element = stack.pop()
        kids = element.get("/K")
        kids = kids.get_object() if kids is not None else None
        for kid in kids if isinstance(kids, ArrayObject) else [kids] if kids is not None else []:
            target = kid.get_object() if hasattr(kid, "get_object") else kid
            if not hasattr(target, "get"):
                continue
            if target.get("/Type") == "/OBJR" and element.get("/S") == "/Form":
                found[target.raw_get("/Obj").idnum] = element
            elif "/S" in target:
                stack.append(target)
    return found


def _written(writer) -> bytes:
    """The form's bytes, its objects packed in compressed object streams (qpdf, through
    pikepdf): pypdf writes each of a tagged form's 270 objects as plain text, 55 KB of a
    one-page form that a hundred recipients each get."""
    import pikepdf

    writer.pdf_header = b"%PDF-1.7"  # clone_from writes 1.3; PDF/UA-1 is 1.7
    buffer = io.BytesIO()
    writer.write(buffer)
    packed = io.BytesIO()
    with pikepdf.open(io.BytesIO(buffer.getvalue())) as pdf:
        pdf.save(packed, object_stream_mode=pikepdf.ObjectStreamMode.generate,
                 compress_streams=True, deterministic_id=True, min_version="1.7")
    return packed.getvalue()


def personal_forms(blank: bytes, mailing, keys: dict[str, object]):
    """(key, PDF bytes) of each recipient's copy of the blank form. One writer holds the
    form, and only the personal values change between copies: parsing the form (its field
    font is embedded whole) for every recipient would take most of the mailing's time."""
    from pypdf import PdfWriter
    from pypdf.generic import NameObject, TextStringObject

    writer = PdfWriter(clone_from=io.BytesIO(blank))
    personal = [a for a in _widgets(writer) if a.get("/T") in PERSONAL]
    appearances = appearance.Appearances(writer, personal)
    # a read-only value is shown by its appearance, not by tagged page text: the field's
    # /Form element says it (its name and value), or a screen reader skips it
    elements = _form_elements(writer)
    shown = [(a, elements.get(a.indirect_reference.idnum)) for a in personal
             if a.get("/T") != ID_FIELD]
    for key, recipient in keys.items():
        fid = form_id(mailing.id, key)
        values = {"agency": recipient.agency, "link_officer": recipient.link_officer,
                  "items_sent": items_text(mailing, recipient), ID_FIELD: fid,
                  REFERENCE_FIELD: f"{mailing.id}/{key}"}
        for annot in personal:
            annot[NameObject("/V")] = TextStringObject(values[str(annot["/T"])])
        appearances.write(values)
        for annot, element in shown:
            if element is not None:
                value = " ".join(values[str(annot["/T"])].split())
                element[NameObject("/Alt")] = TextStringObject(
                    f"{annot.get('/TU', annot['/T'])}: {value}")
        writer.add_metadata({"/Title": f"Feedback: {mailing.title} ({recipient.agency})",
                             ID_INFO_KEY: fid})
        yield key, _written(writer)


# -- the pack's feedback folder ----------------------------------------------------------------

def email_rows(mailing, keys: dict[str, object]) -> list[list[str]]:
    contact = mailing.series.contact
    rows = []
    for key, recipient in keys.items():
        if not recipient.email:
            continue  # no address: the telephone round (follow-up.csv) reaches them
        back = f" to {contact.email}" if getattr(contact, "email", "") else ""
        body = (f"Dear {recipient.link_officer},\n\n"
                f"On {mailing.date_label} we sent {recipient.agency} {mailing.title}. "
                "We would be grateful for your views: please fill in the attached form, save "
                f"it and send it back{back}. It takes about five minutes.\n\n"
                f"With thanks,\n{contact.name}\n{mailing.series.publisher}\n")
        rows.append([recipient.email, f"Your feedback: {mailing.title}", body,
                     f"feedback/{key}.pdf"])
    return rows


def write_feedback(project, mailing, folder: Path) -> int:
    """``feedback/<agency>.pdf`` for every recipient and ``feedback-emails.csv`` into the
    (staged) mailing folder; returns the number of forms."""
    questions = load_questions(project.mailings_dir, mailing.id)
    blank = render_blank(project, mailing, questions)
    keys = recipient_keys(mailing.recipients)
    (folder / "feedback").mkdir()
    for key, data in personal_forms(blank, mailing, keys):
        output.check_pdf(data)
        (folder / "feedback" / f"{key}.pdf").write_bytes(data)
    (folder / "feedback-emails.csv").write_text(
        csvsafe.write(EMAIL_COLUMNS, email_rows(mailing, keys)), encoding="utf-8")
    return len(keys)
