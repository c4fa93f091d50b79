"""Shop stage, the trade's files: ONIX 3.0 checked by onixcheck, JSON-LD, Crossref deposit,
citation meta tags and "cite this" files read back by the project's own bibliography readers,
all agreeing with the catalogue (and so with the PDFs); the suggested citation on the cover."""

from __future__ import annotations

import csv
import io
import json
import shutil
import xml.etree.ElementTree as ET

import bibtexparser
import onixcheck
import pypdf
import pytest

from press.commands import main
from press.content import bibliography
from press.products.shop import published
from press.project import Project
from tests.conftest import copy_project

ONIX = "{http://ns.editeur.org/onix/3.0/reference}"
CR = "{http://www.crossref.org/schema/5.3.1}"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = copy_project(tmp_path_factory.mktemp("trade") / "project")
    assert main(["--project", str(root), "-q", "all"]) == 0
    return root


def upload(root):
    return root / "output" / "upload"


def catalogue(root):
    return json.loads((upload(root) / "catalogue.json").read_text(encoding="utf-8"))


def test_onix_is_valid_onix_3_and_agrees_with_the_catalogue(built):
    path = upload(built) / "onix.xml"
    assert onixcheck.validate(str(path), schemas=("xsd", "rng")) == []
    tree = ET.parse(path)
    products = tree.getroot().findall(f"{ONIX}Product")
    isbns = {p.findtext(f"{ONIX}ProductIdentifier/{ONIX}IDValue"):
             p.findtext(f"{ONIX}DescriptiveDetail/{ONIX}ProductForm") for p in products}
    items = catalogue(built)["products"]
    for item in items:  # one product per format: the PDF sold, the printed copy
        assert isbns[item["isbn"].replace("-", "")] == "EA"
        assert isbns[item["isbn_print"].replace("-", "")] == "BF"
    assert len(products) == 2 * len(items)
    pdf = next(p for p in products
               if p.findtext(f"{ONIX}ProductIdentifier/{ONIX}IDValue") == "9781904984252")
    detail = pdf.find(f"{ONIX}DescriptiveDetail")
    assert detail.findtext(f"{ONIX}ProductFormDetail") == "E107"
    features = [f.findtext(f"{ONIX}ProductFormFeatureValue")
                for f in detail.findall(f"{ONIX}ProductFormFeature")]
    assert "05" in features  # PDF/UA-1
    assert [c.findtext(f"{ONIX}ContributorRole") for c in detail.findall(f"{ONIX}Contributor")
            ] == ["A01", "A01"]
    price = pdf.find(f"{ONIX}ProductSupply/{ONIX}SupplyDetail/{ONIX}Price")
    assert (price.findtext(f"{ONIX}PriceAmount"), price.findtext(f"{ONIX}CurrencyCode"),
            price.findtext(f"{ONIX}Tax/{ONIX}TaxRateCode")) == ("12.50", "GBP", "Z")
    related = {r.findtext(f"{ONIX}ProductIdentifier/{ONIX}IDValue"):
               r.findtext(f"{ONIX}ProductRelationCode")
               for r in pdf.iter(f"{ONIX}RelatedProduct")}
    assert related == {"9781904984245": "13"}  # based on the print edition


def test_a_broken_onix_file_is_caught_by_the_checker(built, tmp_path):
    text = (upload(built) / "onix.xml").read_text(encoding="utf-8")
    bad = tmp_path / "onix.xml"
    bad.write_text(text.replace("<NotificationType>03</NotificationType>", "", 1),
                   encoding="utf-8")
    assert onixcheck.validate(str(bad))


@pytest.mark.parametrize("suffix", [".ris", ".bib", ".csl.json"])
def test_cite_this_files_read_back_to_the_catalogue_fields(built, suffix):
    items = {p["id"]: p for p in catalogue(built)["products"]}
    for item in items.values():
        name = next(f["name"] for f in item["files"] if f["name"].endswith(suffix))
        (ref,), problems = bibliography.read(upload(built) / name)
        assert [p for p in problems if p.severity == "error"] == []
        assert ref.id == item["id"]
        assert ref.title == f"{item['title']}: {item['subtitle']}"
        assert [a.family for a in ref.authors] == [n.split()[-1] for n in item["authors"]]
        assert ref.year == int(item["published"][:4])
        assert ref.csl["ISBN"] == item["isbn"] and ref.csl["DOI"] == item["doi"]
        assert ref.csl["publisher"] == "research in practice"


def test_bibtex_is_read_by_bibtexparser_too(built):
    library = bibtexparser.parse_string(
        (upload(built) / "ni-062-placement-stability.bib").read_text(encoding="utf-8"))
    (entry,) = library.entries
    assert entry.entry_type == "techreport" and entry["doi"] == "10.5555/pp-ni-062"
    assert not library.failed_blocks


def test_json_ld_and_meta_tags_agree_with_the_catalogue(built):
    for item in catalogue(built)["products"]:
        names = {f["role"]: f["name"] for f in item["files"]}
        data = json.loads((upload(built) / names["jsonld"]).read_text(encoding="utf-8"))
        assert data["@context"] == "https://schema.org" and "Book" in data["@type"]
        assert data["offers"]["price"] == f"{item['price']:.2f}"
        assert data["offers"]["priceCurrency"] == "GBP"
        pdf, printed = data["workExample"]
        assert (pdf["isbn"], printed["isbn"]) == (item["isbn"], item["isbn_print"])
        assert pdf["numberOfPages"] == item["pages"]
        assert data["url"] == item["product_url"] and data["image"] == item["image_url"]
        tags = (upload(built) / names["citation"]).read_text(encoding="utf-8")
        assert f'<meta name="citation_isbn" content="{item["isbn"]}">' in tags
        assert f'<meta name="citation_doi" content="{item["doi"]}">' in tags


def test_crossref_deposit_registers_every_doi_with_its_references(built):
    root = ET.parse(upload(built) / "crossref.xml").getroot()
    assert root.tag == f"{CR}doi_batch" and root.get("version") == "5.3.1"
    registered = [d.findtext(f"{CR}doi") for d in root.iter(f"{CR}doi_data")]
    assert sorted(registered) == ["10.5555/pp-2008-09", "10.5555/pp-ni-062",
                                  "10.5555/pp-ni-112"]
    report = next(r for r in root.iter(f"{CR}report-paper_series_metadata")
                  if r.findtext(f"{CR}doi_data/{CR}doi") == "10.5555/pp-ni-062")
    assert [p.findtext(f"{CR}surname") for p in report.iter(f"{CR}person_name")] == \
        ["Judd", "Hallam"]
    assert {i.get("media_type"): i.text for i in report.findall(f"{CR}isbn")} == \
        {"electronic": "978-1-904984-25-2", "print": "978-1-904984-24-5"}
    citations = report.findall(f"{CR}citation_list/{CR}citation")
    assert citations and all(c.findtext(f"{CR}unstructured_citation")
                                      for c in citations)
    assert root.find(f"{CR}body/{CR}book") is not None  # the bundle


def test_catalogue_lists_the_release_files_and_the_csv_gains_columns(built):
    data = catalogue(built)
    names = {f["name"] for f in data["release_files"]}
    assert names == {"onix.xml", "crossref.xml"}
    rows = list(csv.DictReader(io.StringIO(
        (upload(built) / "catalogue.csv").read_text(encoding="utf-8-sig"))))
    first = rows[0]
    assert (first["currency"], first["format"], first["isbn"], first["isbn_print"]) == \
        ("GBP", "PDF", "978-1-904984-25-2", "978-1-904984-24-5")
    assert first["product_url"] == \
        "https://www.rip.org.uk/publications/ni-062-placement-stability"
    assert first["image_url"].endswith("/ni-062-placement-stability-cover@2x.png")


def test_suggested_citation_on_the_inside_cover(built):
    reader = pypdf.PdfReader(built / "output" / "web" / "ni-062-placement-stability.pdf")
    text = " ".join(reader.pages[1].extract_text().split())
    assert "Judd, S. and Hallam, T. (2008) Placement stability for looked after children" \
        in text
    assert "(Dartington: research in practice). doi:10.5555/pp-ni-062" in text


def test_change_list_covers_the_trade_files_and_withdrawal_removes_them(built, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(built, root)
    project = Project.at(root)
    published.mark_published(project)
    (root / "content" / "bundles" / "performance-pointers-2008-09.yaml").unlink()
    assert main(["--project", str(root), "-q", "web"]) == 0
    changes = dict((name, status) for status, name in published.changes(project))
    for name in ("bundles/performance-pointers-2008-09.jsonld",
                 "bundles/performance-pointers-2008-09.ris",
                 "bundles/performance-pointers-2008-09-citation.html"):
        assert changes[name] == "removed" and not (upload(root) / name).exists()
    assert changes["onix.xml"] == "changed" and changes["crossref.xml"] == "changed"
