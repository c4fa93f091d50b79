"""Mailing stage: letters in one layout, the address in the envelope window, print files, job
sheet and manifest that agree with the files, and clear errors for bad recipients and letters."""

from __future__ import annotations

import csv
import hashlib
import html
import io
import re
import shutil
from pathlib import Path

import pypdf
import pytest
from conftest import run

from press.commands import main
from press.products import mailing
from press.project import Project

RECIPIENTS = """\
agency,link_officer,address_1,address_2,address_3,town,postcode,copies,email
Northfield Borough Council Children's Services,Wendy Ferris,Civic Centre,Station Road,,NORTHFIELD,XF11 2FF,,
Bramble & Vale Children's Trust,Siân Llewellyn,Performance Team,"Town Hall, 4 Market Street",,Bramblevale,xb3 4dq,3,sian.llewellyn@bramblevale.example
Ickleham City Council Children and Young People's Services,Ruth Thackeray,Planning and Performance Unit,"Council Offices, 111 Queensway",,ICKLEHAM,XC5 9NT,,
Gorsefield Borough Council Children's Services,Darren Chaudhry,County Hall,,,GORSEFIELD,XS27 4GB,,darren.chaudhry@gorsefield.example
Ynys Fach County Borough Council,Obinna Okafor,Canolfan Ddinesig,Heol y Castell,,YNYS FACH,XY1 1AB,2,
"""

MAILING = """\
title: Test mailing
date: 2009-04-01
series: performance-pointers
subject: New briefings for your agency
letter: test-letter.md
recipients: test-recipients.csv
items:
  - briefing: ni-112-under-18-conceptions
    copies: 2
  - insert: assets/inserts/order-form.pdf
    label: Order form
printer:
  job: PO 4471
  cover_paper: 250 gsm silk
  text_paper: 130 gsm silk
  finished_size: A4 (210 × 297 mm)
  press_size: SRA3
  binding: saddle-stitch, 2 wires
  delivery_date: 2009-03-25
  delivery_address: research in practice, Blacklers, Park Road, Dartington TQ9 6EQ
  proofs: PDF proof of every file, then one hard proof of each booklet
"""

LETTER = """\
Dear {link_officer},

We enclose for {agency}:

{items}

That is {items}, sent on {date}. Buy more at {purchase_url}.
"""

WINDOW = mailing.WINDOW_MM


def write_mailing(root: Path, mailing_id="test", recipients=RECIPIENTS, yaml_text=MAILING,
                  letter=LETTER) -> None:
    folder = root / "content" / "mailings"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{mailing_id}.yaml").write_text(yaml_text, encoding="utf-8")
    if isinstance(recipients, bytes):
        (folder / "test-recipients.csv").write_bytes(recipients)
    else:
        (folder / "test-recipients.csv").write_text(recipients, encoding="utf-8")
    (folder / "test-letter.md").write_text(letter, encoding="utf-8")


def rows(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


@pytest.fixture(scope="module")
def small_pack(built_project, tmp_path_factory):
    """The 5-recipient test mailing built once in a copy of the built sample."""
    root = tmp_path_factory.mktemp("mailing") / "project"
    shutil.copytree(built_project, root)
    write_mailing(root)
    assert main(["mailing", "test", "--project", str(root), "-q"]) == 0
    return root, root / "output" / "mailings" / "test"


def page_words(pdf: Path, page: int) -> list[tuple[str, float, float, float, float]]:
    """Words of one page with their boxes in mm from the top-left corner (pdftotext -bbox)."""
    out = run("pdftotext", "-bbox", "-f", page, "-l", page, pdf, "-")
    k = 25.4 / 72
    return [(html.unescape(m.group(5)), *(float(m.group(i)) * k for i in range(1, 5)))
            for m in re.finditer(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" '
                                 r'yMax="([\d.]+)">([^<]*)</word>', out)]


def address_words(words, recipient: mailing.Recipient):
    """The run of words that spells the recipient's whole address block, in order."""
    tokens = " ".join(recipient.address_block).split()
    texts = [w[0] for w in words]
    for start in range(len(texts) - len(tokens) + 1):
        if texts[start:start + len(tokens)] == tokens:
            return words[start:start + len(tokens)]
    raise AssertionError(f"address of {recipient.agency} not found in order: {tokens}")


# -- the pack ----------------------------------------------------------------------------------

def test_one_letter_per_recipient_with_the_address_in_the_window(small_pack):
    root, pack = small_pack
    recipients = mailing.read_recipients(root / "content/mailings/test-recipients.csv")
    letters = pack / "letters.pdf"
    reader = pypdf.PdfReader(letters)
    assert len(reader.pages) == len(recipients) == 5
    x, y, width, height = WINDOW
    for number, recipient in enumerate(recipients, 1):
        words = page_words(letters, number)
        found = address_words(words, recipient)
        for text, x0, y0, x1, y1 in found:
            assert x <= x0 and x1 <= x + width, (recipient.agency, text, x0, x1)
            assert y <= y0 and y1 <= y + height, (recipient.agency, text, y0, y1)
        page_text = " ".join(w[0] for w in words)
        assert f"Dear {recipient.link_officer}," in page_text
        # the letter body names the agency; nobody else's name is on the page
        assert recipient.agency in page_text
        others = [r.link_officer for r in recipients if r is not recipient]
        assert not any(other in page_text for other in others)


def test_letter_text_is_personalised_and_escaped(small_pack):
    root, pack = small_pack
    text = run("pdftotext", "-layout", "-f", 2, "-l", 2, pack / "letters.pdf", "-")
    flat = " ".join(text.split())
    assert "We enclose for Bramble & Vale Children's Trust:" in flat
    assert re.search(r"3 ?× NI 112: Reducing under-18 conceptions", flat)  # agency's copies
    assert re.search(r"1 ?× Order form", flat)  # inserts keep their own count
    assert "3 copies of NI 112: Reducing under-18 conceptions and a copy of Order form" in flat
    assert "sent on 1 April 2009" in flat and "www.rip.org.uk/publications" in flat
    assert "{" not in flat and "&amp;" not in flat
    assert "BRAMBLEVALE" in flat and "XB3 4DQ" in flat  # town in capitals, postcode normalised


def test_print_files_job_sheet_and_manifest_agree(small_pack):
    root, pack = small_pack
    files = sorted(p.name for p in (pack / "print").iterdir())
    assert files == ["01-ni-112-under-18-conceptions.pdf", "02-order-form.pdf"]
    # the print file is the briefing's print edition, unchanged
    assert (pack / "print" / files[0]).read_bytes() == \
        (root / "output/print/ni-112-under-18-conceptions.pdf").read_bytes()
    manifest = rows(pack / "manifest.csv")
    assert [m["agency"] for m in manifest][:2] == [
        "Northfield Borough Council Children's Services", "Bramble & Vale Children's Trust"]
    assert [int(m[files[0]]) for m in manifest] == [2, 3, 2, 2, 2]
    assert [int(m[files[1]]) for m in manifest] == [1, 1, 1, 1, 1]
    assert [m["letter_pages"] for m in manifest] == ["1", "2", "3", "4", "5"]
    job = {row["file"]: row for row in rows(pack / "job-sheet.csv")}
    for name in files:
        row = job[f"print/{name}"]
        pages = len(pypdf.PdfReader(pack / "print" / name).pages)
        assert int(row["pages"]) == pages
        assert int(row["quantity"]) == sum(int(m[name]) for m in manifest)
        assert int(row["total_sheets"]) == int(row["quantity"]) * int(row["sheets_per_copy"])
        assert row["trim"] == "A4 (210 × 297 mm)"
    briefing = job[f"print/{files[0]}"]
    assert briefing["binding"] == "saddle-stitch" and briefing["colour"] == "CMYK 4/4"
    assert int(briefing["sheets_per_copy"]) == int(briefing["pages"]) // 4
    assert job["print/02-order-form.pdf"]["binding"] == "none (flat sheet)"
    assert job["letters.pdf"]["pages"] == "5"
    sheet = " ".join(run("pdftotext", pack / "job-sheet.pdf", "-").split())
    assert "01-ni-112-under-18-conceptions.pdf" in sheet and "Total sheets" in sheet
    total = sum(int(r["total_sheets"]) for r in job.values())
    assert str(total) in sheet


def test_job_sheet_carries_what_the_printer_asks_for(small_pack):
    _, pack = small_pack
    job = {row["file"]: row for row in rows(pack / "job-sheet.csv")}
    booklet = job["print/01-ni-112-under-18-conceptions.pdf"]
    assert booklet["paper"] == "cover 250 gsm silk; text 130 gsm silk"
    assert job["print/02-order-form.pdf"]["paper"] == "130 gsm silk"  # a flat sheet
    for row in job.values():
        assert row["job"] == "PO 4471" and row["press_size"] == "SRA3"
        assert row["delivery_date"] == "2009-03-25"
        assert row["delivery_address"].startswith("research in practice, Blacklers")
        assert row["proofs"].startswith("PDF proof of every file")
    sheet = " ".join(run("pdftotext", pack / "job-sheet.pdf", "-").split())
    for text in ("Job / PO number PO 4471", "Cover paper 250 gsm silk", "Text paper 130 gsm silk",
                 "Finished size A4 (210 × 297 mm)", "Press sheet SRA3",
                 "Binding saddle-stitch, 2 wires", "Delivery date 25 March 2009",
                 "Deliver to research in practice", "Proofs PDF proof of every file",
                 "for-printer-test.zip"):
        assert text in sheet, text


def test_one_archive_for_the_printer_with_checksums(small_pack):
    import hashlib
    import zipfile

    _, pack = small_pack
    with zipfile.ZipFile(pack / "for-printer-test.zip") as archive:
        names = sorted(archive.namelist())
        assert names == sorted(["README.txt", "SHA256SUMS", "job-sheet.csv", "job-sheet.pdf",
                                "letters.pdf", "manifest.csv",
                                "print/01-ni-112-under-18-conceptions.pdf",
                                "print/02-order-form.pdf"])
        sums = archive.read("SHA256SUMS").decode().splitlines()
        assert len(sums) == len(names) - 1
        for line in sums:  # the format sha256sum -c reads
            digest, name = line.split("  ", 1)
            data = archive.read(name)
            assert hashlib.sha256(data).hexdigest() == digest
            assert data == (pack / name).read_bytes()  # the same files as the pack's
        readme = archive.read("README.txt").decode()
    for text in ("Job / PO number: PO 4471", "print/01-ni-112-under-18-conceptions.pdf",
                 "sha256sum -c SHA256SUMS", "text in 100 % black (K only)",
                 "Coated FOGRA39", "crop marks in registration colour",
                 "one hard proof of each booklet"):
        assert text in " ".join(readme.split()), text
    assert max(len(line) for line in readme.splitlines()) <= 76  # plain text for any reader
    assert (pack / "README.txt").read_text() == readme


def test_letters_are_print_ready(small_pack):
    _, pack = small_pack
    assert "<pdfx:GTS_PDFXVersion>PDF/X-4<" in run("pdfinfo", "-meta", pack / "letters.pdf")
    content = pypdf.PdfReader(pack / "letters.pdf").pages[0].get_contents().get_data()
    assert not re.search(rb"[\d.]+ [\d.]+ [\d.]+ (rg|RG)\b", content)  # CMYK only
    assert re.search(rb"[\d.]+ [\d.]+ [\d.]+ [\d.]+ k\b", content)
    fonts = run("pdffonts", pack / "letters.pdf")
    assert "Lato" in fonts and "Helvetica" not in fonts and "DejaVu" not in fonts
    outline = pypdf.PdfReader(pack / "letters.pdf").outline
    assert len(outline) == 5  # one bookmark per letter, to find an agency's letter quickly
    reader = pypdf.PdfReader(pack / "letters.pdf")
    assert not any(page.get("/Annots") for page in reader.pages)  # links do not print
    intent = reader.trailer["/Root"]["/OutputIntents"][0].get_object()  # PDF/X needs one
    assert intent["/OutputConditionIdentifier"] == "FOGRA39"


def test_failed_run_keeps_the_previous_pack(small_pack, tmp_path, capsys):
    root = tmp_path / "project"
    shutil.copytree(small_pack[0], root)
    pack = root / "output/mailings/test"
    before = {p.name: p.read_bytes() for p in pack.iterdir() if p.is_file()}
    write_mailing(root, recipients=RECIPIENTS + RECIPIENTS.splitlines()[1] + "\n")
    assert main(["mailing", "test", "--project", str(root)]) == 1
    assert "duplicate agency" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in pack.iterdir() if p.is_file()} == before
    assert [p.name for p in pack.parent.iterdir()] == ["test"]  # no staging folder left


def tree_sums(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_pack_is_the_same_bytes_for_any_batch_and_jobs(small_pack, tmp_path):
    """Forms in batches of 3 by one process, of 2 (three tasks) by two workers, of the
    default size: every file of the pack is the same bytes."""
    root = tmp_path / "project"
    shutil.copytree(small_pack[0], root)
    pack = root / "output/mailings/test"
    sums = []
    for batch, jobs in (("3", "1"), ("2", "2")):
        assert main(["mailing", "test", "--project", str(root), "-q", "--batch", batch,
                     "-j", jobs]) == 0
        sums.append(tree_sums(pack))
    assert len([n for n in sums[0] if n.startswith("feedback/")]) == 5
    assert sums[0] == sums[1] == tree_sums(small_pack[1])


def test_the_recipient_limit_is_named_with_how_to_raise_it(project, capsys):
    write_mailing(project)
    assert main(["mailing", "test", "--project", str(project), "--max-recipients", "4"]) == 1
    err = capsys.readouterr().err
    assert "test-recipients.csv:6: more than 4 recipients" in err
    assert "--max-recipients N" in err and "nothing written" in err


# -- bad input ---------------------------------------------------------------------------------

BAD_CSV = {
    "encoding": (RECIPIENTS.encode("utf-8").replace("Siân".encode(), "Si\xe2n".encode("latin-1")),
                 r"test-recipients\.csv:3: not UTF-8: byte 0xe2 at byte offset \d+ \(row 3\)"),
    "missing column": (RECIPIENTS.replace(",postcode,", ",",
                                          1).replace(",XF11 2FF,", ",", 1),
                       r"test-recipients\.csv:1: missing column 'postcode'"),
    "unknown column": (RECIPIENTS.replace("postcode", "post_code", 1),
                       r"test-recipients\.csv:1: unknown column 'post_code' "
                       r"\(did you mean 'postcode'\?\)"),
    "empty row": (RECIPIENTS.replace("\nIckleham", "\n,,,,,,,,\nIckleham"),
                  r"test-recipients\.csv:4: row 4 is empty"),
    "blank line": (RECIPIENTS.replace("\nIckleham", "\n\nIckleham"),
                   r"test-recipients\.csv:4: row 4 is empty"),
    "duplicate agency": (RECIPIENTS + "northfield borough council children's services,A B,"
                         "X,,,Y,XA1 1AA,,\n",
                         r"test-recipients\.csv:7: duplicate agency 'northfield borough "
                         r"council children's services' \(first on row 2"),
    "too many fields": (RECIPIENTS.replace("Station Road,,", "Station Road,Flat 1,,", 1),
                        r"test-recipients\.csv:2: row 2 has 10 fields but the header has 9 "
                        r"\(put a field that contains a comma in double quotes\)"),
    "bad postcode": (RECIPIENTS.replace("XF11 2FF", "NOWHERE"),
                     r"test-recipients\.csv:2: row 2: 'NOWHERE' is not a UK postcode"),
    "bad copies": (RECIPIENTS.replace(",3,sian", ",three,sian"),
                   r"test-recipients\.csv:3: row 3: 'copies' must be a whole number"),
    "empty field": (RECIPIENTS.replace("Wendy Ferris", ""),
                    r"test-recipients\.csv:2: row 2: 'link_officer' is empty"),
}


@pytest.mark.parametrize("case", sorted(BAD_CSV))
def test_bad_recipients_are_reported_by_row(project, capsys, case):
    recipients, expected = BAD_CSV[case]
    write_mailing(project, recipients=recipients)
    assert main(["mailing", "test", "--project", str(project)]) == 1
    err = capsys.readouterr().err
    assert re.search("content/mailings/" + expected, err), err
    assert "Traceback" not in err and "nothing written" in err
    assert not (project / "output" / "mailings").exists() or \
        not any((project / "output" / "mailings").iterdir())


BAD_DEFINITION = {
    "unknown briefing": (MAILING.replace("briefing: ni-112-under-18-conceptions",
                                         "briefing: ni-112-under-18-conception"),
                         LETTER, r"test\.yaml:8: unknown briefing 'ni-112-under-18-conception' "
                         r"\(did you mean 'ni-112-under-18-conceptions'\?\)"),
    "unknown item kind": (MAILING.replace("  - insert:", "  - leaflet:"), LETTER,
                          r"test\.yaml:10: unknown item 'leaflet'"),
    "unknown bundle": (MAILING.replace("  - insert:", "  - bundle: nope\n  - insert:"), LETTER,
                       r"test\.yaml:10: unknown bundle 'nope'"),
    "draft briefing": (MAILING.replace("ni-112-under-18-conceptions", "ni-058-emotional-health"),
                       LETTER, r"test\.yaml:8: briefing 'ni-058-emotional-health' is a draft "
                       r"and cannot be mailed"),
    "insert outside": (MAILING.replace("assets/inserts/order-form.pdf", "../outside.pdf"),
                       LETTER, r"test\.yaml:10: insert '\.\./outside\.pdf' is outside content/ "
                       r"and assets/"),
    "insert missing": (MAILING.replace("order-form.pdf", "nope.pdf"), LETTER,
                       r"test\.yaml:10: insert 'assets/inserts/nope\.pdf' not found"),
    "unknown placeholder": (MAILING, LETTER.replace("{agency}", "{agncy}"),
                            r"test-letter\.md:3: unknown placeholder '\{agncy\}' "
                            r"\(did you mean 'agency'\?\)"),
    "template syntax": (MAILING, LETTER + "\n{{ config.__class__ }}\n",
                        r"test-letter\.md:9: template syntax"),
    "missing field": (MAILING.replace("letter: test-letter.md\n", ""), LETTER,
                      r"test\.yaml:1: missing required field 'letter'"),
    "paper without weight": (MAILING.replace("250 gsm silk", "heavy silk"), LETTER,
                             r"test\.yaml:14: 'cover_paper' must give the paper's weight in "
                             r"gsm"),
    "unknown printer field": (MAILING.replace("  press_size:", "  press_sise:"), LETTER,
                              r"test\.yaml:17: unknown field 'press_sise' in 'printer' "
                              r"\(did you mean 'press_size'\?\)"),
    "bad delivery date": (MAILING.replace("2009-03-25", "next week"), LETTER,
                          r"test\.yaml:19: 'printer\.delivery_date' must be a date like 2009-04-01"),
    "missing print profile": (MAILING + "  print_profile: color/nope.icc\n", LETTER,
                              r"test\.yaml:22: 'print_profile': no \.icc file "
                              r"assets/color/nope\.icc"),
}


@pytest.mark.parametrize("case", sorted(BAD_DEFINITION))
def test_bad_definitions_name_file_and_line(project, capsys, case):
    yaml_text, letter, expected = BAD_DEFINITION[case]
    (project / "outside.pdf").write_bytes(b"%PDF-1.7\n%%EOF\n")
    write_mailing(project, yaml_text=yaml_text, letter=letter)
    assert main(["mailing", "test", "--project", str(project)]) == 1
    err = capsys.readouterr().err
    assert re.search(expected, err), err
    assert "Traceback" not in err
    assert not (project / "output" / "mailings").exists()


def test_address_too_long_for_the_window(copy_built, capsys):
    root = copy_built()
    write_mailing(root, recipients=RECIPIENTS.replace(
        '"Council Offices, 111 Queensway",', "Council Offices,111 Queensway"))
    assert main(["mailing", "test", "--project", str(root)]) == 1
    err = capsys.readouterr().err
    assert "content/mailings/test-recipients.csv:4: the address of 'Ickleham City Council " \
        "Children and Young People's Services' is too long for the envelope window: 8 lines " \
        "once long ones wrap, at most 7 fit" in err
    assert not (root / "output/mailings/test").exists()


def test_symlinked_insert_pointing_outside_is_refused(project, capsys):
    secret = project.parent / "secret.pdf"
    secret.write_bytes(b"%PDF-1.7\n%%EOF\n")
    (project / "assets" / "inserts" / "link.pdf").symlink_to(secret)
    write_mailing(project, yaml_text=MAILING.replace("order-form.pdf", "link.pdf"))
    assert main(["mailing", "test", "--project", str(project)]) == 1
    assert "insert 'assets/inserts/link.pdf' is outside content/ and assets/" in \
        capsys.readouterr().err


def test_a_stale_bundle_is_assembled_again(copy_built, capsys):
    root = copy_built()
    bundle = next(root.joinpath("content/bundles").glob("*.yaml"))
    write_mailing(root, yaml_text=MAILING.replace(
        "  - insert:", f"  - bundle: {bundle.stem}\n  - insert:"))
    bundle.write_text(bundle.read_text(encoding="utf-8").replace(
        'title: "', 'title: "Revised: ', 1), encoding="utf-8")
    assert main(["mailing", "test", "--project", str(root)]) == 0
    assert f"mailing: assembled bundle {bundle.stem}" in capsys.readouterr().out
    printed = root / "output" / "print" / "bundles" / f"{bundle.stem}.pdf"
    assert "Revised: " in pypdf.PdfReader(printed).pages[0].extract_text()


def test_usage_without_an_id(project, capsys):
    assert main(["mailing", "--project", str(project)]) == 2
    assert "needs exactly one ID" in capsys.readouterr().err


# -- units -------------------------------------------------------------------------------------

def test_placeholders_are_filled_once_with_escaped_values(tmp_path):
    letter_path = tmp_path / "letter.md"
    letter_path.write_text("To {agency}, on {date}.\n\n<script>alert(1)</script>\n\n{items}\n",
                           encoding="utf-8")
    letter = mailing.read_letter(letter_path)
    assert "<script" not in letter.html
    html = mailing.personalise(letter, {"agency": "A &amp; {date}", "date": "1 April 2009",
                                        "items": "x", "items_block": "<ul>x</ul>",
                                        "link_officer": "", "purchase_url": ""})
    assert "To A &amp; {date}, on 1 April 2009." in html  # a value is never re-substituted
    assert "<ul>x</ul>" in html and "<p><ul>" not in html


@pytest.mark.parametrize("pages, expected", [(1, ("none (flat sheet)", 1)),
                                             (12, ("saddle-stitch", 3)),
                                             (64, ("saddle-stitch", 16)),
                                             (68, ("perfect bound", 34)),
                                             (18, ("perfect bound", 9))])
def test_binding(pages, expected):
    assert mailing.binding_for(pages) == expected


# -- the real sample ---------------------------------------------------------------------------

@pytest.mark.slow
def test_april_2009_sample(copy_built):
    root = copy_built()
    assert main(["mailing", "2009-04", "--project", str(root), "-q"]) == 0
    pack = root / "output/mailings/2009-04"
    recipients = mailing.read_recipients(root / "content/mailings/2009-04-recipients.csv")
    assert len(recipients) >= 100
    text = run("pdftotext", pack / "letters.pdf", "-").split("\f")
    assert len(pypdf.PdfReader(pack / "letters.pdf").pages) == len(recipients)
    for page, recipient in zip(text, recipients):
        assert recipient.link_officer in page and recipient.postcode in page
    manifest = rows(pack / "manifest.csv")
    assert [m["agency"] for m in manifest] == [r.agency for r in recipients]
    job = rows(pack / "job-sheet.csv")
    project = Project.at(root)
    definition = mailing.load_mailing(project, "2009-04")
    assert [r["file"] for r in job] == [f"print/{mailing.print_name(n, item)}" for n, item
                                        in enumerate(definition.items, 1)] + ["letters.pdf"]
    for row in job[:-1]:
        name = row["file"].removeprefix("print/")
        assert int(row["pages"]) == len(pypdf.PdfReader(pack / row["file"]).pages)
        assert int(row["quantity"]) == sum(int(m[name]) for m in manifest)


def test_a_long_letter_runs_on_and_the_next_starts_a_new_sheet(copy_built):
    root = copy_built()
    long_letter = LETTER + "\n".join(f"\nParagraph {n}: " + "More news from the series. " * 12
                                     for n in range(8))
    two = "\n".join(RECIPIENTS.splitlines()[:3]) + "\n"
    write_mailing(root, recipients=two, letter=long_letter)
    assert main(["mailing", "test", "--project", str(root), "-q"]) == 0
    pack = root / "output/mailings/test"
    assert [m["letter_pages"] for m in rows(pack / "manifest.csv")] == ["1-2", "3-4"]
    pages = run("pdftotext", pack / "letters.pdf", "-").split("\f")
    assert "Dear Wendy Ferris," in pages[0] and "Dear Siân Llewellyn," in pages[2]
    # a continuation page names its recipient; a first page does not need to
    assert "Wendy Ferris, Northfield Borough Council" in pages[1].split("\n")[0]
    assert "Siân Llewellyn, Bramble & Vale" in pages[3].split("\n")[0]
    assert "Yours sincerely" in pages[1] and "Yours sincerely" not in pages[0]
    job = {row["file"]: row for row in rows(pack / "job-sheet.csv")}
    assert job["letters.pdf"]["pages"] == "4"


def test_an_item_that_fails_to_build_fails_the_mailing(project, capsys):
    source = project / "content/briefings/ni-112-under-18-conceptions.md"
    source.write_text(source.read_text(encoding="utf-8") + "\nSee [@nobody2020].\n",
                      encoding="utf-8")
    write_mailing(project)
    assert main(["mailing", "test", "--project", str(project)]) == 1
    err = capsys.readouterr().err
    assert "content/briefings/ni-112-under-18-conceptions.md:" in err and "nobody2020" in err
    assert "content/mailings/test.yaml:8: briefing 'ni-112-under-18-conceptions' failed to " \
        "build" in err
    assert not (project / "output/mailings").exists()
