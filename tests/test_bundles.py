"""Bundles: built briefings assembled with pypdf into one web and one print PDF per bundle."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import run
from pypdf import PdfReader
from pypdf.generic import ArrayObject, IndirectObject

from press.commands import main
from press.core import parallel
from press.errors import ContentError
from press.products.bundles import load, model
from press.project import Project
from press.render import typeset

BUNDLE = "performance-pointers-2008-09"
NI62 = "ni-062-placement-stability"
NI112 = "ni-112-under-18-conceptions"
FRONT = 2  # cover + contents


def bundle_pdf(root, edition):
    return root / "output" / edition / "bundles" / f"{BUNDLE}.pdf"


def own_pages(root, slug):
    """Pages of a briefing's own web edition (the fixture's layout decides how many)."""
    return len(PdfReader(root / "output" / "web" / f"{slug}.pdf").pages)


def part_pages(root, edition):
    """Pages each briefing brings into the bundle: without its own back cover (the bundle has
    one back cover, one price, one barcode) and, in print, without its booklet padding."""
    return [len(model.PartFile.of(Project.at(root), slug, edition).pages)
            for slug in (NI62, NI112)]


def part_ranges(root, edition):
    """(first, last) page index of each briefing inside the bundle."""
    counts = part_pages(root, edition)
    the_plan = model.plan(FRONT, counts, edition, booklet=True)
    return [(start, start + count - 1)
            for start, count in zip(the_plan.starts, counts, strict=True)]


# -- pages, padding, labels ------------------------------------------------------------------------

def test_full_build_assembles_the_sample_bundle(built_project):
    for edition in ("web", "print"):
        reader = PdfReader(bundle_pdf(built_project, edition))
        counts = part_pages(built_project, edition)
        # cover, contents, the briefings without their back covers, and the bundle's own
        # back cover
        assert counts == [own_pages(built_project, slug) - 1 for slug in (NI62, NI112)]
        if edition == "web":
            assert len(reader.pages) == FRONT + sum(counts) + 1
        else:  # the briefings' booklet padding is left out; Notes pads to a multiple of 4
            the_plan = model.plan(FRONT, counts, edition, booklet=True)
            assert len(reader.pages) == the_plan.total and the_plan.total % 4 == 0
            for first, _ in part_ranges(built_project, edition):
                assert first % 2 == 0  # index 0 is page 1: even index = right-hand page


@pytest.mark.parametrize("front, counts, edition, booklet, pads, pad_end", [
    (2, (20, 12), "print", True, (0, 0), 1),  # the sample: booklets are already even
    (2, (17, 11), "print", False, (0, 1), 0),  # odd briefings: a blank before the second
    (3, (5, 4), "print", False, (1, 1), 1),  # odd front matter and parts; back on a verso
    (2, (17, 11), "web", True, (0, 0), 0),  # the web edition has no blanks
])
def test_plan_starts_every_briefing_on_a_right_hand_page(front, counts, edition, booklet,
                                                          pads, pad_end):
    the_plan = model.plan(front, counts, edition, booklet)
    assert (the_plan.pads, the_plan.pad_end) == (pads, pad_end)
    if edition == "print":
        assert all(start % 2 == 0 for start in the_plan.starts)
        assert the_plan.total % (4 if booklet else 2) == 0


def test_page_labels_roman_front_matter_then_arabic(built_project):
    for edition in ("web", "print"):
        reader = PdfReader(bundle_pdf(built_project, edition))
        labels = reader.page_labels
        assert labels[:FRONT + 1] == ["i", "ii", "1"]
        assert labels[FRONT:] == [str(n) for n in range(1, len(labels) - FRONT + 1)]
        # the contents page promises the page each briefing starts on, in those labels
        contents = reader.pages[1].extract_text()
        for first, _ in part_ranges(built_project, edition):
            assert f"page {labels[first]}" in contents


def test_blank_pages_keep_the_boxes_and_the_back_cover_is_last(built_project):
    """NI 112 starts on a right-hand page (after a blank if NI 62 brings an odd number of
    pages); Notes pages and a blank pad the book to a multiple of 4 before the back cover."""
    reader = PdfReader(bundle_pdf(built_project, "print"))
    texts = run("pdftotext", bundle_pdf(built_project, "print"), "-").split("\f")[:-1]
    assert [t.strip() for t in texts[-4:-1]] == ["Notes", "Notes", ""]
    blank = reader.pages[-2]
    assert "/Annots" not in blank
    boxes = {name: [float(v) for v in blank[name]] for name in ("/MediaBox", "/TrimBox",
                                                                  "/BleedBox")}
    for page in reader.pages:
        assert {name: [float(v) for v in page[name]] for name in boxes} == boxes
    (_, _), (second, _) = part_ranges(built_project, "print")
    assert second % 2 == 0 and "NI 112" in texts[second]  # its cover, on a right-hand page
    label = reader.page_labels[second]
    assert label == str(second - FRONT + 1) and f"page {label}" in texts[1]
    # one product, one price, one barcode: the parts' own back covers are left out
    backs = [n for n, text in enumerate(texts) if "Price £" in text]
    assert backs == [len(reader.pages) - 1]
    assert "Price £20.00" in texts[-1] and "ISBN" in texts[-1]


# -- bookmarks, links ------------------------------------------------------------------------------

def outline_tree(reader, items):
    tree = []
    for item in items:
        if isinstance(item, list):
            tree[-1][2].extend(outline_tree(reader, item))
        else:
            tree.append((str(item.title), reader.get_destination_page_number(item), []))
    return tree


def test_bookmarks_one_per_briefing_with_its_own_nested(built_project):
    reader = PdfReader(bundle_pdf(built_project, "web"))
    tree = outline_tree(reader, reader.outline)
    assert [(title, page) for title, page, _ in tree] == [
        ("Performance Pointers 2008–09: the collected briefings", 0), ("Contents", 1),
        ("NI 62: Placement stability for looked after children", 2),
        ("NI 112: Reducing under-18 conceptions", part_ranges(built_project, "web")[1][0])]
    for (_title, _page, children), slug, (first, last) in zip(
            tree[2:], (NI62, NI112), part_ranges(built_project, "web"), strict=True):
        own = PdfReader(built_project / "output" / "web" / f"{slug}.pdf")
        (_, _, own_children), = outline_tree(own, own.outline)  # the cover title holds all
        assert [(t, p + first) for t, p, _ in own_children] == [(t, p) for t, p, _ in children]
        assert "Introduction" in [t for t, _, _ in children]
        assert all(first <= p <= last for _, p, _ in children)
        nested = [c for _, _, sub in children for c in sub]
        assert nested, "level-3 headings stay nested under their section"


def link_targets(reader):
    """(page index of the link, page index it lands on) for every internal link."""
    pages = {page.indirect_reference.idnum: n for n, page in enumerate(reader.pages)}
    names = reader.named_destinations
    found = []
    for number, page in enumerate(reader.pages):
        for annot in page.get("/Annots", []) or []:
            annot = annot.get_object()
            dest = annot.get("/Dest")
            if dest is None and annot.get("/A", {}).get("/S") == "/GoTo":
                dest = annot["/A"]["/D"]
            if dest is None:
                continue
            if isinstance(dest, ArrayObject):
                found.append((number, pages[dest[0].idnum]))
            else:
                assert str(dest) in names, f"link to a missing destination {dest}"
                found.append((number, reader.get_destination_page_number(names[str(dest)])))
    return found


def test_print_bundle_has_no_links(built_project):
    """Links do nothing on paper: the print finisher takes every annotation off."""
    reader = PdfReader(bundle_pdf(built_project, "print"))
    assert not any(page.get("/Annots") for page in reader.pages)


@pytest.mark.parametrize("edition", ["web"])
def test_every_internal_link_lands_in_its_own_briefing(built_project, edition):
    reader = PdfReader(bundle_pdf(built_project, edition))
    ranges = part_ranges(built_project, edition)
    links = link_targets(reader)
    inside = [(s, t) for s, t in links if any(a <= s <= b for a, b in ranges)]
    assert len(inside) > 40  # contents, citations, cross-references of both briefings
    for source, target in inside:
        (first, last), = [r for r in ranges if r[0] <= source <= r[1]]
        assert first <= target <= last, f"link on page {source + 1} leaves its briefing"
    contents = {t for s, t in links if s == 1}  # the bundle's contents page
    assert contents == {first for first, _ in ranges}


# -- metadata, tags, print -------------------------------------------------------------------------

def test_metadata(built_project):
    for edition in ("web", "print"):
        info = run("pdfinfo", bundle_pdf(built_project, edition))
        assert "Title:           Performance Pointers 2008–09: the collected briefings" in info
        assert "Author:          Sarah Judd, Tom Hallam" in info
        assert re.search(r"Subject:\s+.*NI 62 and NI 112", info)
        assert re.search(r"Keywords:\s+looked after children.*teenage pregnancy", info)
        assert "CreationDate:    Wed Apr  1 00:00:00 2009" in info
        reader = PdfReader(bundle_pdf(built_project, edition))
        root = reader.trailer["/Root"]
        assert root["/Lang"] == "en-GB" and root["/PageMode"] == "/UseOutlines"
        xmp = root["/Metadata"].get_object().get_data().decode()
        assert "the collected briefings" in xmp
        if edition == "web":
            assert 'pdfuaid:part="1"' in xmp
            assert root["/ViewerPreferences"]["/DisplayDocTitle"] == True  # noqa: E712
        else:
            assert "PDF/X-4" in xmp and reader.metadata["/Trapped"] == "/False"
            assert root["/OutputIntents"][0]["/S"] == "/GTS_PDFX"


def structure(reader):
    """Top-level structure elements and, for each, the pages its marked content is on."""
    pages = {page.indirect_reference.idnum: n for n, page in enumerate(reader.pages)}
    tree = reader.trailer["/Root"]["/StructTreeRoot"]
    (document,) = tree["/K"]
    seen = set()

    def walk(ref, element, found):
        if isinstance(ref, IndirectObject):
            assert ref.idnum not in seen, "an element is in the tree twice"
            seen.add(ref.idnum)
        kids = element.get("/K")
        kids = kids if isinstance(kids, ArrayObject) else [] if kids is None else [kids]
        for kid in kids:
            if isinstance(kid, int):
                found.append(pages[element.raw_get("/Pg").idnum])
                continue
            child = kid.get_object()
            if child.get("/Type") in ("/OBJR", "/MCR"):
                found.append(pages[(child if "/Pg" in child else element).raw_get("/Pg").idnum])
            else:
                assert child.raw_get("/P").idnum == (ref.idnum if ref is not None else None)
                walk(kid, child, found)
        return found

    top = []
    for kid in document.get_object()["/K"]:
        element = kid.get_object()
        top.append((str(element["/S"]), str(element.get("/T", "")), walk(kid, element, [])))
    return top


def test_web_bundle_is_one_tagged_document(built_project):
    pdf = bundle_pdf(built_project, "web")
    assert "Tagged:          yes" in run("pdfinfo", pdf)
    reader = PdfReader(pdf)
    root = reader.trailer["/Root"]
    assert root["/MarkInfo"]["/Marked"] == True  # noqa: E712
    top = structure(reader)
    parts = [(t, pages) for s, t, pages in top if s == "/Part"]
    assert [t for t, _ in parts] == ["NI 62: Placement stability for looked after children",
                                     "NI 112: Reducing under-18 conceptions"]
    for (_, pages), (first, last) in zip(parts, part_ranges(built_project, "web"),
                                         strict=True):
        assert pages and min(pages) == first and max(pages) == last
    # front matter first, back cover last, and content never goes back a part
    firsts = [min(pages) for _, _, pages in top if pages]
    assert firsts == sorted(firsts) and firsts[0] == 0 and firsts[-1] == len(reader.pages) - 1
    # every page and every annotation has its entry in the one rebuilt ParentTree
    tree = root["/StructTreeRoot"]
    nums = tree["/ParentTree"]["/Nums"]
    keys = [int(nums[i]) for i in range(0, len(nums), 2)]
    assert len(keys) == len(set(keys)) == int(tree["/ParentTreeNextKey"])
    used = []
    for page in reader.pages:
        used.append(int(page["/StructParents"]))
        for annot in page.get("/Annots", []) or []:
            used.append(int(annot.get_object()["/StructParent"]))
    assert sorted(used) == sorted(keys)
    # one structure tree only: the briefings' own roots were not dragged along
    raw = pdf.read_bytes()
    check = run("qpdf", "--check", pdf)
    assert "No syntax or stream encoding errors" in check and "WARNING" not in check
    assert len(re.findall(rb"/StructTreeRoot", run_qdf(pdf))) == 2  # catalog entry + type
    assert raw.startswith(b"%PDF-1.7")


def run_qdf(pdf) -> bytes:
    import subprocess
    return subprocess.run(["qpdf", "--qdf", "--object-streams=disable", str(pdf), "-"],
                          capture_output=True, check=False).stdout


def test_reading_order_follows_the_parts(built_project):
    text = run("pdftotext", "-layout", bundle_pdf(built_project, "web"), "-")
    positions = [text.index("In this collection")]
    for slug in (NI62, NI112):
        own_pdf = built_project / "output" / "web" / f"{slug}.pdf"
        pages = len(PdfReader(own_pdf).pages)  # the bundle takes all but its back cover
        own = run("pdftotext", "-layout", "-l", str(pages - 1), own_pdf, "-")
        first_line = next(line.strip() for line in own.splitlines() if line.strip())
        last_words = own.strip().splitlines()[-1].strip()
        start = text.index(first_line, positions[-1])
        assert text.index(last_words, start) > start
        positions.append(start)
    assert positions == sorted(positions)
    assert text.rindex("Price £20.00") > positions[-1]  # the bundle's back cover is last


def struct_text(pdf) -> list[str]:
    """Poppler's reading of the structure tree (``-struct-text`` would add each element's
    text, but takes poppler 10 s here: pdftotext checks the text order), object ids masked."""
    text = run("pdfinfo", "-struct", pdf)
    return [re.sub(r"Object \d+ 0", "Object", line) for line in text.splitlines()]


def test_each_part_reads_exactly_like_its_briefing(built_project):
    """The structure tree of each Part of the bundle is the briefing's own, element for
    element (with its attributes and link objects), in the same order, up to its back
    cover, which the bundle leaves out."""
    bundle = struct_text(bundle_pdf(built_project, "web"))
    starts = [n for n, line in enumerate(bundle) if line.startswith("  Part ")]
    assert len(starts) == 2
    ends = starts[1:] + [next(n for n in range(starts[-1] + 1, len(bundle))
                              if bundle[n].startswith("  ") and not bundle[n].startswith("   "))]
    for slug, start, end in zip((NI62, NI112), starts, ends, strict=True):
        own = struct_text(built_project / "output" / "web" / f"{slug}.pdf")
        assert own[0] == "Document"
        part = [line[2:] for line in bundle[start + 1:end]]
        assert part == own[1:len(part) + 1] and len(part) > 100
        back = own[len(part) + 1:]  # the briefing's back cover: its elements only
        assert back and back[0].startswith("  ") and not back[0].startswith("   ")


def test_print_bundle_keeps_bleed_and_one_output_intent(built_project):
    pdf = bundle_pdf(built_project, "print")
    check = run("qpdf", "--check", pdf)
    assert "No syntax or stream encoding errors" in check and "WARNING" not in check
    reader = PdfReader(pdf)
    for page in reader.pages:
        trim = [float(v) for v in page["/TrimBox"]]
        bleed = [float(v) for v in page["/BleedBox"]]
        assert bleed[0] == pytest.approx(trim[0] - 8.50, abs=0.01)
        assert float(page["/MediaBox"][0]) < bleed[0]
    report = json.loads(pdf.with_suffix(".preflight.json").read_text())
    assert report["blocking"] == [] and report["pages"] == len(reader.pages)
    assert all(font["embedded"] for font in report["fonts"])
    profiles = re.findall(rb"/N 4\b", run_qdf(pdf))
    assert len(profiles) == 1, "the CMYK profile of every part is stored once"


def test_bundle_is_smaller_than_its_parts(built_project):
    sizes = {}
    for edition in ("web", "print"):
        parts = sum((built_project / "output" / edition / f"{slug}.pdf").stat().st_size
                    for slug in (NI62, NI112))
        sizes[edition] = bundle_pdf(built_project, edition).stat().st_size / parts
    # colour profiles and logos are stored once, each Lato face's subsets become one font
    # program (press.fontmerge), small objects go into object streams: even with its own
    # cover, contents and back cover the bundle is smaller than its two briefings
    assert sizes["print"] <= 0.7
    assert sizes["web"] <= 1.0


# -- incremental -----------------------------------------------------------------------------------

class _Renders:
    """The names of the pages laid out, by this process and the ones it forks (the print
    bundle is assembled in a child process while the web bundle is made in the parent)."""

    def __init__(self, log: Path):
        self.log = log

    def __eq__(self, other) -> bool:
        return sorted(self) == sorted(other)

    def __iter__(self):
        return iter(self.log.read_text().split() if self.log.exists() else [])

    def __repr__(self) -> str:
        return repr(list(self))

    def clear(self) -> None:
        self.log.unlink(missing_ok=True)


def test_assembling_does_not_re_render_up_to_date_briefings(copy_built, monkeypatch,
                                                            tmp_path):
    root = copy_built()
    rendered = _Renders(tmp_path / "renders.log")
    real_render = typeset.render

    def counting(page, project_root, **options):
        if Path(page.name).stem != "_sample_note":  # the note page of a rebuilt briefing's sample
            with rendered.log.open("a") as log:
                log.write(Path(page.name).stem + "\n")
        return real_render(page, project_root, **options)

    monkeypatch.setattr(typeset, "render", counting)
    before = {path: path.stat().st_mtime_ns
              for path in (root / "output").rglob("*.pdf")}
    assert main(["bundle", "--project", str(root), "-q"]) == 0
    assert rendered == []  # the full build made the bundle: it is up to date
    assert main(["bundle", BUNDLE, "--force", "--project", str(root), "-q"]) == 0
    assert rendered == []  # reassembled from the briefings and its cached own pages
    changed = {p.name for p, ns in before.items() if p.stat().st_mtime_ns != ns}
    assert changed == {f"{BUNDLE}.pdf"}  # (web and print) the briefings were not touched
    shutil.rmtree(root / ".cache" / "derived")  # the bundle's own pages, sample, thumbnails
    assert main(["bundle", BUNDLE, "--force", "--project", str(root), "-q"]) == 0
    # without the cache: its own pages, web and print; then its sample, made with the web
    # edition from that same layout, plus the first briefing's first page (its pages in the
    # bundle are copied from its PDF, so there is nothing to cut that page from) and the note
    assert rendered == [BUNDLE, BUNDLE, NI62, BUNDLE]
    # an edit inside a briefing that changes nothing the contents page shows: the briefing
    # is rebuilt (rendered once), the bundle's own pages come from the cache
    source = root / "content" / "briefings" / f"{NI112}.md"
    first_heading = next(line for line in source.read_text().splitlines()
                         if line.startswith("## "))
    source.write_text(source.read_text().replace(first_heading, first_heading + " today"))
    rendered.clear()
    assert main(["bundle", "--project", str(root), "-q"]) == 0
    assert rendered == [NI112]
    # a new title shows on the contents page: the bundle's own pages are laid out again
    source.write_text(source.read_text().replace("Reducing under-18", "Cutting under-18"))
    rendered.clear()
    assert main(["bundle", "--project", str(root), "-q"]) == 0
    # (and the sample, which shows the contents page: the note and the first briefing's page)
    assert sorted(rendered) == sorted([NI112, BUNDLE, BUNDLE, NI62, BUNDLE])
    reader = PdfReader(bundle_pdf(root, "web"))
    second = part_ranges(root, "web")[1][0]
    assert "Cutting under-18 conceptions" in reader.pages[second].extract_text()


def test_a_full_build_reads_the_bundle_s_other_briefings_while_the_edited_one_builds(
        copy_built, monkeypatch):
    """After an edit inside a bundle, ``build.py`` parses the bundle's unchanged briefings
    once, while the edited one is built (bundles.ReadAhead); the merge then reads only the
    rebuilt briefing's PDFs, and the bundle shows the edit."""
    root = copy_built()
    reads = []
    real_of = model.PartFile.of.__func__

    def recording(cls, project, slug, edition, parse=False):
        reads.append((slug, edition, parse))
        return real_of(cls, project, slug, edition, parse)

    monkeypatch.setattr(model.PartFile, "of", classmethod(recording))
    source = root / "content" / "briefings" / f"{NI112}.md"
    first_heading = next(line for line in source.read_text().splitlines()
                         if line.startswith("## "))
    source.write_text(source.read_text().replace(first_heading, first_heading + " today"))
    assert main(["--project", str(root), "-q"]) == 0
    # (the print edition is merged in a forked child where the machine allows: its reads
    # are not seen here, so only this process's reads are counted)
    assert sorted(r for r in reads if r[0] == NI62) == [(NI62, "print", True),
                                                        (NI62, "web", True)]
    assert (NI112, "web", False) in reads and not any(r[0] == NI112 and r[2] for r in reads)
    assert reads.index((NI112, "web", False)) > reads.index((NI62, "web", True))
    reader = PdfReader(bundle_pdf(root, "web"))
    assert any(first_heading[3:] + " today" in page.extract_text() for page in reader.pages)
    reads.clear()
    assert main(["--project", str(root), "-q"]) == 0
    assert reads == []  # a no-op reads nothing ahead


# -- bad input -------------------------------------------------------------------------------------

BAD = {
    "unknown": ("briefings:\n  - ni-062-placement-stability\n  - ni-999-nothing\n", 8,
                "no briefing 'ni-999-nothing'"),
    "draft": ("briefings:\n  - ni-058-emotional-health\n", 7,
              "briefing 'ni-058-emotional-health' is a draft"),
    "empty": ("briefings: []\n", 6, "'briefings' is empty"),
    "twice": ("briefings:\n  - ni-062-placement-stability\n  - ni-062-placement-stability\n",
              8, "briefing 'ni-062-placement-stability' is listed twice (first on line 7)"),
    "other": ("briefings:\n  - ot-001-elsewhere\n", 7,
              "briefing 'ot-001-elsewhere' belongs to series 'other-series', not "
              "'performance-pointers'"),
    "broken": ("briefings:\n  - ni-062-placement-stability\n  - ni-099-broken\n", 8,
               "briefing 'ni-099-broken' failed to build"),
}
HEAD = ("title: Bad bundle\nseries: performance-pointers\npublished: \"2009-04\"\nisbn: "
        "978-1-904984-40-5\nprice: 9\n")


def test_bad_bundles_are_reported_with_file_and_line_and_keep_the_previous(copy_built,
                                                                             capsys):
    root = copy_built()
    content = root / "content"
    other = content / "series" / "other-series.yaml"
    shutil.copy(content / "series" / "performance-pointers.yaml", other)
    source = (content / "briefings" / f"{NI112}.md").read_text()
    (content / "briefings" / "ot-001-elsewhere.md").write_text(
        source.replace("series: performance-pointers", "series: other-series"))
    (content / "briefings" / "ni-099-broken.md").write_text(
        source.replace("number: 2", "number: 99") + "\nSee [@nobody2020].\n")
    previous = bundle_pdf(root, "web").read_bytes()
    for name, (entries, _, _) in BAD.items():
        (content / "bundles" / f"bad-{name}.yaml").write_text(HEAD + entries)
        target = root / "output" / "web" / "bundles" / f"bad-{name}.pdf"
        target.write_bytes(previous)  # stands for an earlier good build of this bundle
    good = bundle_pdf(root, "web")
    good.unlink()
    assert main(["bundle", "--project", str(root)]) == 1
    err = capsys.readouterr().err
    for name, (_, line, message) in BAD.items():
        assert f"content/bundles/bad-{name}.yaml:{line}: {message}" in err, err
        assert (root / "output" / "web" / "bundles" / f"bad-{name}.pdf").read_bytes() == previous
    assert "unknown citation 'nobody2020'" in err
    assert f"{len(BAD)} errors" in err
    assert "Traceback" not in err
    assert good.is_file()  # the good bundle still built
    reader = PdfReader(good)
    counts = part_pages(root, "web")
    assert len(reader.pages) == FRONT + sum(counts) + 1


def test_bundle_file_errors_are_located(project):
    root = Project.at(project)
    path = root.bundles_dir / "typo.yaml"
    path.write_text("title: T\nseries: performance-pointer\npublished: 2009-13\n"
                    "isbn: 978-1-904984-40-6\nbriefing: [a]\n")
    from press.errors import ContentError
    with pytest.raises(ContentError) as caught:
        load.load_bundle(root, path, {}, {})
    text = "\n".join(p.format(project) for p in caught.value.problems)
    assert "content/bundles/typo.yaml:5: unknown field 'briefing' (did you mean 'briefings'?)" \
        in text
    assert "content/bundles/typo.yaml:2: unknown series 'performance-pointer'" in text
    assert "typo.yaml:3: 'published' is not a real date: '2009-13'" in text
    assert "typo.yaml:4: 'isbn' 978-1-904984-40-6 is not a valid ISBN-13" in text
    assert "missing required field 'briefings'" in text


# -- the two editions in two processes ---------------------------------------------------------------

def _make(edition):
    if edition == "print":
        raise ContentError.at(Path("content/bundles/x.yaml"), 3, f"{edition} went wrong")
    return f"{edition} made in {os.getpid()}"


def test_editions_made_in_two_processes_report_the_child_s_problems():
    if not parallel.can_fork() or parallel.default_jobs() < 2:
        pytest.skip("one core or no fork: the editions are made one after the other")
    made = parallel.run_beside(lambda edition: f"{edition} in {os.getpid()}", ("web", "print"))
    assert made["web"] == f"web in {os.getpid()}"
    assert made["print"].startswith("print in ") and made["print"] != f"print in {os.getpid()}"
    with pytest.raises(ContentError) as caught:
        parallel.run_beside(_make, ("web", "print"))
    assert [(p.line, p.message) for p in caught.value.problems] == [(3, "print went wrong")]
