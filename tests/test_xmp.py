"""Typeset stage, XMP: each edition's identity (ISBN of its format, DOI, publisher, rights,
series) as Dublin Core and PRISM, read back by exiftool (or pikepdf when it is absent)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pikepdf
import pytest
from conftest import needs

from press.commands import main
from press.render import xmp
from tests.conftest import copy_project

SLUG = "ni-112-under-18-conceptions"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = copy_project(tmp_path_factory.mktemp("xmp") / "project")
    assert main(["--project", str(root), "-q", "briefing", SLUG]) == 0
    return root


def pike(path):
    with pikepdf.open(path) as pdf:
        meta = pdf.open_metadata()
        return {key.split("}")[1]: meta[key] for key in meta
                if "purl.org/dc" in key or "prismstandard" in key}


@pytest.mark.parametrize("edition, isbn", [("web", "978-1-904984-32-0"),
                                           ("print", "978-1-904984-31-3")])
def test_each_edition_carries_its_own_isbn_doi_and_publisher(built, edition, isbn):
    path = built / "output" / edition / f"{SLUG}.pdf"
    meta = pike(path)
    assert meta["isbn"] == isbn and meta["doi"] == "10.5555/pp-ni-112"
    assert meta["identifier"] == "doi:10.5555/pp-ni-112"
    assert set(meta["publisher"]) == {"research in practice"}
    assert meta["publicationName"] == "Performance Pointers" and meta["number"] == "2"
    assert list(meta["date"]) == ["2009-04"] and set(meta["language"]) == {"en-GB"}
    assert meta["rights"].startswith("© 2009 research in practice")
    assert "teenage pregnancy" in set(meta["subject"])
    assert meta["title"] == "NI 112: Reducing under-18 conceptions"  # WeasyPrint's own kept


@needs(shutil.which("exiftool") is not None, "exiftool is not installed")
def test_exiftool_reads_the_web_pdf_identity(built):
    out = subprocess.run(["exiftool", "-json", "-XMP:all", str(built / "output" / "web"
                                                                / f"{SLUG}.pdf")],
                         capture_output=True, text=True, check=True).stdout
    (tags,) = json.loads(out)
    assert tags["ISBN"] == "978-1-904984-32-0" and tags["DOI"] == "10.5555/pp-ni-112"
    assert tags["Publisher"] == "research in practice"
    assert tags["Identifier"] == "doi:10.5555/pp-ni-112"


def test_no_identity_no_change():
    class Meta:
        custom: dict[str, str] = {}
        lang, keywords = "en-GB", []

    class Doc:
        metadata = Meta()

    assert xmp.add_identity(Doc(), object(), "pdf") is False
    assert xmp.identity({"press.isbn.print": "1", "press.isbn.pdf": "2", "other": "x"},
                        "print") == {"isbn": "1"}
    assert b"&amp;" in xmp.description({"publisher": "A & B"}, None, [])
    assert b"<dc:identifier>urn:isbn:9781904984245<" in xmp.description(
        {"isbn": "978-1-904984-24-5"}, None, [])
