"""Hardening: random input never crashes, a killed build never leaves a broken file, and no byte
of a file outside the project reaches an output."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import yaml
from conftest import REPO, copy_project
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from press.briefing import layout, markdown
from press.commands import main
from press.content.load import BRIEFING_FIELDS, load_briefing, load_series
from press.core import limits, output
from press.errors import ContentError, Problems
from press.project import Project

SLUG = "ni-112-under-18-conceptions"

# -- random front matter and Markdown: a Briefing or a ContentError, never a traceback -------

VALID = {"title": "Random", "series": "performance-pointers", "number": 77,
         "indicator": {"code": "NI 7", "title": "Seven"}, "published": "2009-04",
         "authors": [{"name": "Ann Author"}], "status": "final", "summary": "Summary."}
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10, 10**12),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
                    st.dates().map(str), st.sampled_from(["{{ 7*7 }}", "{% raw %}", "", " "]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6)
keys = st.sampled_from(BRIEFING_FIELDS + ("titel", "extra", "<<", "authors "))
front_matter = st.builds(lambda changes, drop: {
    **{k: v for k, v in VALID.items() if k not in drop}, **changes},
    st.dictionaries(keys, values, max_size=4), st.sets(st.sampled_from(list(VALID)), max_size=2))
raw_yaml = st.text(alphabet=st.sampled_from(list("ab: -\n\t'\"&*!{}[]|>#%@`,?\x00\x02\x85")
                                            + ["\u00e9", "\ufeff", "\u2028"]),
                   max_size=80)
fragments = st.sampled_from([
    "## Heading", "### Sub {{ x }}", "# Level one", "- item\n    - nested", "1. one\n2. two",
    "> quote\n>\n> — Someone", "| a | b |\n|---|---|\n| 1 | 2 |", "Table: caption",
    "[@nobody]", "[@swann2003, p. 2]", "Text[^1]\n\n[^1]: A note \nwith a second line.", '!!! pointer "Title"\n    Box.',
    "!!! nonsense", "![alt](../../assets/figures/ni112-conception-rate-trend.svg)",
    "![alt](/etc/hostname)", "![](x.png)", "![nul](a\x00b.png)", "[link](https://example.com)", "[bad](file:///etc)",
    "<script>alert(1)</script>", '<img src="../../../x.png" alt="x">', "<div><span>html",
    "{% include 'briefing.html' %}", "x" * 300, "*" * 60, "[" * 50, "<b>" * 45, "`code`",
    "\u202e\u200b\ufeff", "\x00", "Figure: caption", "***", "---", "&amp; &#0; &#x110000;",
])
bodies = st.lists(st.one_of(fragments, st.text(max_size=40)), max_size=8).map("\n\n".join)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    root = copy_project(tmp_path_factory.mktemp("random") / "project")
    project = Project.at(root)
    series = load_series(project, Problems())
    return project, series


def _front_matter(data, raw):
    if raw is not None:
        return raw
    try:
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    except yaml.YAMLError:
        return "title: unrepresentable\n"


def _attempt(project, series, text: str):
    """Load and convert one random file: a Body, or None with problems; anything else fails."""
    path = project.briefings_dir / "zz-random.md"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    problems = Problems()
    briefing = load_briefing(project, path, series, problems)
    if briefing is None:
        assert problems.errors, "a briefing that fails to load must say why"
        assert all(p.message for p in problems.errors)
        return None, None
    try:
        return briefing, markdown.convert(briefing, project.root)
    except ContentError as exc:
        assert exc.problems and all(p.message for p in exc.problems)
        return briefing, None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=front_matter, raw=st.one_of(st.none(), raw_yaml), body=bodies)
def test_random_input_loads_or_reports(sandbox, data, raw, body):
    project, series = sandbox
    _attempt(project, series, f"---\n{_front_matter(data, raw)}---\n\n{body}\n")


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies)
def test_random_markdown_renders_or_reports(sandbox, body):
    from press.render import typeset, web

    project, series = sandbox
    text = f"---\n{_front_matter(VALID, None)}---\n\n## Start\n\n{body}\n"
    briefing, body_html = _attempt(project, series, text)
    if body_html is None:
        return
    try:
        laid_out = typeset.render(layout.page(project, briefing, body_html), project.root)
        assert laid_out.page_count >= 3
        # (a character no project font has is refused as the PDF is written: a report too)
        assert web.write_web(laid_out, None, "random").startswith(b"%PDF-")
    except ContentError as exc:
        assert exc.problems and all(p.path for p in exc.problems)


# -- time limits -------------------------------------------------------------------------------

def test_time_limit_stops_a_runaway_stage_and_restores_the_outer_one():
    with pytest.raises(limits.TimeLimitExceeded, match="layout did not finish within 0.5 s"):
        with limits.time_limit("layout", 0.5):
            with pytest.raises(limits.TimeLimitExceeded, match="markdown"):
                with limits.time_limit("markdown", 0.05):
                    while True:
                        pass
            while True:  # the outer limit still fires
                pass
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_time_limit_is_a_no_op_outside_the_main_thread():
    done = []

    def work():
        with limits.time_limit("layout", 0.01):
            time.sleep(0.05)
        done.append(True)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert done == [True]


# -- atomic output: kill -9 at random moments ------------------------------------------------

def _check_outputs(out: Path) -> list[Path]:
    """Every PDF whole, every JSON parseable; returns the leftover partial files."""
    from pypdf import PdfReader

    leftovers = []
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        if path.name.startswith(".") and path.name.endswith(".part"):
            leftovers.append(path)
            continue
        assert ".staging" not in str(path), f"stray file {path}"
        data = path.read_bytes()
        if path.suffix == ".pdf":
            assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF"), path
            assert len(PdfReader(path).pages) >= 1, path
        elif path.suffix == ".json":
            import json
            json.loads(data)
    return leftovers


@pytest.mark.slow
def test_kill_9_never_leaves_a_truncated_file(copy_built, capsys):
    root = copy_built()
    out = root / "output"
    before = _check_outputs(out)
    assert not before
    seed = random.randrange(10**6)
    rng = random.Random(seed)
    command = [sys.executable, str(REPO / "build.py"), "--project", str(root), "-q", "-j", "1",
               "--force", "briefing", SLUG]
    killed_at = []
    for _ in range(3):
        build = subprocess.Popen(command, cwd=root, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        delay = rng.uniform(1.0, 6.0)
        try:
            build.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            build.send_signal(signal.SIGKILL)
            build.wait()
            killed_at.append(round(delay, 2))
        _check_outputs(out)  # after every kill: only whole files (and .part leftovers)
    # the next build removes what the killed ones left behind (the write window is short, so
    # also plant a leftover in the form a killed writer leaves: its pid is gone)
    (out / "web" / f".{SLUG}.pdf.{build.pid}.k1ll3d.part").write_bytes(b"%PDF-1.7 half")
    assert main(["--project", str(root), "-q", "-j", "1", "briefing", SLUG,
                 "--edition", "web"]) == 0, capsys.readouterr().err
    assert _check_outputs(out) == [], f"seed {seed}, killed at {killed_at} s"


def test_clean_partials_spares_files_of_running_writers(tmp_path):
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead = int(done.stdout)
    mine = tmp_path / f".x.pdf.{os.getpid()}.abc123.part"
    theirs = tmp_path / "web" / f".x.pdf.{dead}.def456.part"
    theirs.parent.mkdir()
    for path in (mine, theirs):
        path.write_bytes(b"%PDF-1.7 half")
    swapped = tmp_path / ".shop.old"  # a folder swap killed between its two renames
    swapped.mkdir()
    output.clean_partials(tmp_path)
    assert mine.exists() and not theirs.exists()
    assert (tmp_path / "shop").is_dir() and not swapped.exists()


def test_write_bytes_refuses_a_truncated_pdf(tmp_path):
    target = tmp_path / "a.pdf"
    output.write_bytes(target, b"%PDF-1.7\nwhole\n%%EOF\n")
    with pytest.raises(output.IncompleteOutput):
        output.write_bytes(target, b"%PDF-1.7\nhalf")
    assert target.read_bytes().endswith(b"%%EOF\n")
    assert [p.name for p in tmp_path.iterdir()] == ["a.pdf"]


# -- keep going; a failed rebuild keeps the last good output -----------------------------------

@pytest.mark.slow
def test_failures_are_listed_and_the_last_good_output_stays(copy_built, capsys):
    root = copy_built()
    web = root / "output" / "web" / f"{SLUG}.pdf"
    good = web.read_bytes()
    source = root / "content" / "briefings" / f"{SLUG}.md"
    text = source.read_text(encoding="utf-8")
    lines = text.split("\n")
    at = lines.index("## Introduction") + 3
    lines.insert(at - 1, "A claim [@nobody2020].\n")
    source.write_text("\n".join(lines), encoding="utf-8")
    broken = root / "content" / "briefings" / "zz-broken.md"
    broken.write_text("---\ntitle: [unclosed\n---\n", encoding="utf-8")
    other = root / "output" / "web" / "ni-062-placement-stability.pdf"
    other.unlink()

    code = main(["--project", str(root), "-q", "-j", "1", "--edition", "web", "briefing",
                 "ni-062-placement-stability", SLUG, "zz-broken"])
    err = capsys.readouterr().err
    assert code == 1
    assert f"content/briefings/{SLUG}.md:{at}: unknown citation 'nobody2020'" in err
    assert "content/briefings/zz-broken.md:2: invalid YAML" in err
    assert re.search(r"^2 errors", err, re.M), err
    assert other.is_file()  # the good briefing was built despite the others
    assert web.read_bytes() == good  # the failed one kept its last good edition


# -- no byte of a file outside the project reaches an output --------------------------------

@pytest.fixture
def secrets(tmp_path):
    """Files outside the project, each carrying a marker that would show if it leaked."""
    from PIL import Image

    marker = f"SECRET{uuid.uuid4().hex[:12].upper()}"
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text(marker, encoding="utf-8")
    (folder / "secret.css").write_text(f'body::after {{ content: "{marker}" }}', encoding="utf-8")
    (folder / "secret.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="30">'
        f'<text x="0" y="20">{marker}</text></svg>', encoding="utf-8")
    Image.frombytes("L", (len(marker), 1), marker.encode()).save(folder / "secret.png")
    return folder, marker


ROUTES = {
    "absolute": "![Secret]({folder}/secret.png)",
    "file-url": "![Secret](file://{folder}/secret.svg)",
    "traversal": "![Secret](../../../outside/secret.png)",
    "symlink": "![Secret](secret-link.svg)",
    "html": '<img alt="Secret" src="{folder}/secret.svg">',
    "html-traversal": '<p><img alt="Secret" src="../../../outside/secret.png"></p>',
    "svg-inside": "![Secret](../../assets/figures/wrapper.svg)",
    "attachment": '<a rel="attachment" href="{folder}/secret.txt">file</a>',
    "link": "[file](file://{folder}/secret.txt)",
    "style": '<style>@import url("{folder}/secret.css");</style><p style="background: '
             'url({folder}/secret.png)">x</p>',
}


def _leaks(pdf: Path, marker: str, work: Path) -> list[str]:
    from pypdf import PdfReader

    found = []
    if marker.encode() in pdf.read_bytes():
        found.append("raw bytes")
    plain = work / (pdf.name + ".qdf")
    subprocess.run(["qpdf", "--qdf", "--object-streams=disable", "--decode-level=all",
                    str(pdf), str(plain)], check=False, capture_output=True)
    if plain.is_file() and marker.encode() in plain.read_bytes():
        found.append("decoded streams")
    reader = PdfReader(pdf)
    if any(marker in (page.extract_text() or "") for page in reader.pages):
        found.append("text")
    if reader.attachments:
        found.append(f"attachments {list(reader.attachments)}")
    return found


@pytest.mark.slow
def test_no_byte_from_outside_the_project_reaches_an_output(project, secrets, tmp_path,
                                                           capsys):
    folder, marker = secrets
    root = project  # tmp_path/project beside tmp_path/outside: ../../../outside walks out
    assert root.parent == folder.parent
    briefings = root / "content" / "briefings"
    (briefings / "secret-link.svg").symlink_to(folder / "secret.svg")
    (root / "assets" / "figures" / "wrapper.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="300" height="30"><image xlink:href="file://{folder}/secret.svg" width="300" '
        'height="30"/></svg>', encoding="utf-8")
    (briefings / "zz-linked.md").symlink_to(folder / "secret.txt")
    slugs = []
    for number, (name, route) in enumerate(ROUTES.items(), 60):
        slug = f"zz-{name}"
        front = yaml.safe_dump({**VALID, "number": number, "title": name})
        text = f"---\n{front}---\n\n## Section\n\nText.\n\n{route.format(folder=folder)}\n"
        (briefings / f"{slug}.md").write_text(text, encoding="utf-8")
        slugs.append(slug)

    code = main(["--project", str(root), "-q", "-j", "1", "--edition", "web", "briefing",
                 "zz-linked", *slugs])
    err = capsys.readouterr().err
    assert code == 1
    sanitised = {"zz-style"}  # removed with a warning; the briefing builds without them
    for slug in [*slugs, "zz-linked"]:
        assert f"content/briefings/{slug}.md" in err, f"{slug} was not refused:\n{err}"
        assert (root / "output" / "web" / f"{slug}.pdf").exists() == (slug in sanitised)
    assert "outside the project" in err
    assert "removed unsafe HTML 'style'" in err
    pdfs = sorted((root / "output").rglob("*.pdf"))
    assert [p.relative_to(root / "output").as_posix() for p in pdfs] == [
        "web/samples/zz-style.pdf", "web/zz-style.pdf"]  # the edition and its sample
    for pdf in pdfs:
        assert _leaks(pdf, marker, tmp_path) == []


def test_the_fetcher_refuses_every_route_even_past_the_sanitiser(project, secrets, tmp_path):
    """A template bug must not open the sandbox: WeasyPrint fed hostile HTML directly."""
    import weasyprint

    from press.render.fetcher import ProjectFetcher

    folder, marker = secrets
    html = f"""<html><head>
    <link rel="stylesheet" href="{folder}/secret.css">
    <link rel="attachment" href="file://{folder}/secret.txt">
    <style>@import url("file://{folder}/secret.css");
      p {{ background: url({folder}/secret.png) }}</style></head><body>
    <p>visible</p><img src="{folder}/secret.svg" alt="x"><img src="//example.com/x.png" alt="y">
    <img src="../../../outside/secret.png" alt="z"><object data="{folder}/secret.svg"></object>
    <embed src="{folder}/secret.svg"><a rel="attachment" href="{folder}/secret.txt">a</a>
    <iframe src="file://{folder}/secret.txt"></iframe></body></html>"""
    fetcher = ProjectFetcher(project)
    base_url = (project / "content" / "briefings").as_uri() + "/"
    pdf = tmp_path / "hostile.pdf"
    weasyprint.HTML(string=html, base_url=base_url, url_fetcher=fetcher).write_pdf(pdf)
    assert fetcher.served == set() or all(p.is_relative_to(project) for p in fetcher.served)
    assert len(fetcher.refused) >= 6
    assert _leaks(pdf, marker, tmp_path) == []


# -- random series, bundle and mailing files: loaded or reported, never a traceback ----------

yaml_traps = st.sampled_from(["12:30", "062", "2009-02-30", "2009-04-01", ".nan", "-.inf",
                              "yes", "off", "0x1F", "1e400", "[" * 400, '"\\ud800"',
                              '"\\u202e"', '"a\\0b"', "[a, b]", "{a: 1}", "x" * 300 + ".md",
                              "../../../etc/passwd", "file:///etc/passwd", "~", "''"])


def _mutate(text: str, key: str, value: str) -> str:
    """Set ``key`` (a top-level field) to the raw YAML ``value``, adding it if absent."""
    pattern = re.compile(rf"(?m)^{re.escape(key)}:.*$")
    line = f"{key}: {value}"
    return pattern.sub(lambda _: line, text, count=1) if pattern.search(text) \
        else f"{text.rstrip()}\n{line}\n"


@pytest.fixture(scope="module")
def yaml_sandbox(tmp_path_factory):
    root = copy_project(tmp_path_factory.mktemp("yaml-random") / "project")
    project = Project.at(root)
    files = {kind: path.read_text(encoding="utf-8") for kind, path in (
        ("series", project.series_dir / "performance-pointers.yaml"),
        ("bundle", project.bundles_dir / "performance-pointers-2008-09.yaml"),
        ("mailing", project.mailings_dir / "2009-04.yaml"))}
    return project, files


SERIES_KEYS = ("name", "publisher", "purchase_url", "booklet", "sample_pages", "partners",
               "contact", "about", "doi_prefix", "place", "upload_url", "product_url",
               "language")
BUNDLE_KEYS = ("title", "series", "published", "isbn", "price", "briefings", "doi")
MAILING_KEYS = ("title", "date", "series", "letter", "recipients", "items", "sign_off")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(["series", "bundle", "mailing"]),
       changes=st.lists(st.tuples(st.sampled_from(SERIES_KEYS + BUNDLE_KEYS + MAILING_KEYS),
                                  st.one_of(yaml_traps, st.text(max_size=20))), max_size=3))
def test_random_series_bundle_and_mailing_files_load_or_report(yaml_sandbox, kind, changes):
    from press.products import bundles
    from press.products.mailing.load import load_mailing

    project, files = yaml_sandbox
    text = files[kind]
    for key, value in changes:
        text = _mutate(text, key, value.replace("\n", " "))
    path = {"series": project.series_dir / "performance-pointers.yaml",
            "bundle": project.bundles_dir / "performance-pointers-2008-09.yaml",
            "mailing": project.mailings_dir / "2009-04.yaml"}[kind]
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        problems = Problems()
        series = load_series(project, problems)
        if kind == "bundle":
            from press.content.load import load_all

            _, briefings = load_all(project, Problems())
            bundles.load_bundle(project, path, series, {b.slug: b for b in briefings})
        elif kind == "mailing":
            load_mailing(project, "2009-04")
        assert all(p.message for p in problems.errors)
    except ContentError as exc:
        assert exc.problems and all(p.message for p in exc.problems)
    finally:
        path.write_text(files[kind], encoding="utf-8")


@pytest.mark.parametrize("kind, key", [("mailing", "letter"), ("mailing", "recipients"),
                                       ("bundle", "briefings")])
def test_a_file_name_too_long_for_the_system_is_a_problem_not_a_traceback(yaml_sandbox, kind,
                                                                          key):
    """Found by the random test above: a name longer than the file system allows made
    ``Path.is_file`` raise (ENAMETOOLONG) instead of saying the file is not there."""
    from press.content.load import load_all
    from press.products import bundles
    from press.products.mailing.load import load_mailing

    project, files = yaml_sandbox
    name = "x" * 300 + (".md" if key == "letter" else "")
    path = {"bundle": project.bundles_dir / "performance-pointers-2008-09.yaml",
            "mailing": project.mailings_dir / "2009-04.yaml"}[kind]
    value = f"\n  - {name}\n" if key == "briefings" else f" {name}\n"
    text = re.sub(rf"(?m)^{key}:.*\n(  - .*\n)*", f"{key}:{value}", files[kind])
    path.write_text(text, encoding="utf-8")
    try:
        with pytest.raises(ContentError) as caught:
            if kind == "bundle":
                _, briefings = load_all(project, Problems())
                bundles.load_bundle(project, path, load_series(project, Problems()),
                                    {b.slug: b for b in briefings})
            else:
                load_mailing(project, "2009-04")
        assert any(p.path == path and p.line for p in caught.value.problems)
    finally:
        path.write_text(files[kind], encoding="utf-8")


# -- YAML is read by YAML 1.2's rules, strictly ------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("12:30", "12:30"), ("062", "062"), ("2009-02-30", "2009-02-30"), ("2009-04-01", "2009-04-01"),
    (".nan", ".nan"), (".inf", ".inf"), ("yes", "yes"), ("off", "off"), ("0x1F", "0x1F"),
    ("62", 62), ("-3", -3), ("12.50", 12.5), ("true", True), ("false", False), ("~", None),
    ("null", None), ("1e3", 1000.0)])
def test_yaml_1_2_scalars(raw, expected):
    from press.core import yamlsafe

    value = yamlsafe.load(f"a: {raw}\n", "x.yaml")[0]["a"]
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("raw, message", [
    ("[" * 400, "nested more than 32 levels deep"),
    ('"\\ud800"', "U+D800 is a lone surrogate"),
    ('"a\\u202eb"', "U+202E is a bidirectional control"),
    ('"a\\u2066b"', "U+2066 is a bidirectional control"),
    ('"a\\0b"', "U+0000 is a control character"),
    ('"a\\x85b"', "U+0085 is a control character"),
])
def test_yaml_refuses_at_the_line(raw, message):
    from press.core import yamlsafe

    with pytest.raises(ContentError) as caught:
        yamlsafe.load(f"ok: 1\na: {raw}\n", "x.yaml", line_offset=1)
    assert "x.yaml:3: " in str(caught.value) and message in str(caught.value)


# -- file names, encodings, limits, OS errors --------------------------------------------------

def test_file_names_with_a_newline_or_upper_case_suffix(project, capsys):
    briefings = project / "content" / "briefings"
    source = briefings / f"{SLUG}.md"
    (briefings / "ni-900\n.md").write_bytes(source.read_bytes())
    (briefings / "x.MD").write_bytes(source.read_bytes())
    assert main(["--project", str(project), "check"]) == 1
    err = capsys.readouterr().err
    assert "content/briefings/ni-900\\n.md: file name 'ni-900\\n.md' is not a valid slug" in err
    assert "file name 'x.MD' must end in '.md' (lower case) to be read" in err


def _mailing_with_recipients(project: Path, data: bytes):
    from press.products.mailing.recipients import read_recipients

    path = project / "content" / "mailings" / "2009-04-recipients.csv"
    path.write_bytes(data)
    with pytest.raises(ContentError) as caught:
        read_recipients(path)
    return str(caught.value)


def test_utf16_recipients_name_the_encoding(project):
    text = (project / "content" / "mailings" / "2009-04-recipients.csv").read_text("utf-8")
    for data in (text.encode("utf-16-le"), text.encode("utf-16-be"), text.encode("utf-16")):
        message = _mailing_with_recipients(project, data)
        assert "the file is UTF-16, save it as UTF-8" in message
        assert "unknown column" not in message


def test_recipients_are_bounded(project):
    from press.products.mailing.recipients import MAX_RECIPIENTS

    rows = ["agency,link_officer,address_1,town,postcode"] + [
        f"Agency {n},Officer {n},1 Road,TOWN,XF11 2FF" for n in range(MAX_RECIPIENTS + 50)]
    message = _mailing_with_recipients(project, "\n".join(rows).encode())
    assert f"more than {MAX_RECIPIENTS:,} recipients" in message


def test_recipient_with_a_bidi_override(project):
    rows = ["agency,link_officer,address_1,town,postcode",
            "Agency \u202eevil,Officer,1 Road,TOWN,XF11 2FF"]
    message = _mailing_with_recipients(project, "\n".join(rows).encode())
    assert "row 2: 'agency': U+202E is a bidirectional control" in message


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_output_is_one_clear_message(project, capsys):
    (project / "output").mkdir()
    (project / "output").chmod(0o555)
    try:
        code = main(["--project", str(project), "-q", "briefing", SLUG, "--edition", "web"])
    finally:
        (project / "output").chmod(0o755)
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert "Permission denied" in err and "check the folder's permissions" in err


@pytest.mark.parametrize("number, text", [
    (28, "the disk is full"), (30, "mounted read-only"), (36, "over 255 bytes")])
def test_os_errors_get_a_hint(number, text, monkeypatch, project, capsys):
    import errno

    from press.commands import _verb

    def fail(*args):
        raise OSError(number, os.strerror(number), str(project / "output" / "x.pdf"))

    monkeypatch.setattr(_verb("check"), "command", fail)
    assert main(["--project", str(project), "check"]) == 1
    err = capsys.readouterr().err
    assert text in err and "output/x.pdf" in err and "Traceback" not in err
    assert number in (errno.ENOSPC, errno.EROFS, errno.ENAMETOOLONG)


# -- no byte from outside the project -----------------------------------------------------------

@pytest.mark.parametrize("url", ["file:///etc/passwd", "http://www.rip.org.uk/x",
                                 "javascript:alert(1)", "https://", "https://a b.org"])
def test_series_urls_must_be_https(project, capsys, url):
    series = project / "content" / "series" / "performance-pointers.yaml"
    text = series.read_text("utf-8")
    series.write_text(re.sub(r"(?m)^purchase_url: .*$", f"purchase_url: {url}", text),
                      encoding="utf-8")
    assert main(["--project", str(project), "-q", "check"]) == 1
    err = capsys.readouterr().err
    assert "performance-pointers.yaml:23: 'purchase_url' must be a web address starting " \
           "https://" in err


def _outside_copy(tmp_path: Path, source: Path, marker: str) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir(exist_ok=True)
    target = outside / source.name
    target.write_text(source.read_text("utf-8") + f"\n{{# {marker} #}}\n", encoding="utf-8")
    return target


def test_symlinked_partial_outside_layouts_is_refused(project, tmp_path, capsys):
    partial = project / "layouts" / "_about.html"
    outside = _outside_copy(tmp_path, partial, "outside")
    partial.unlink()
    partial.symlink_to(outside)
    code = main(["--project", str(project), "-q", "briefing", SLUG, "--edition", "web"])
    out = capsys.readouterr()
    assert code == 1 and "Traceback" not in out.err
    assert "layouts/_about.html is a link to a file outside layouts/" in out.err + out.out


@pytest.mark.parametrize("kind, name, argv", [
    ("bundles", "performance-pointers-2008-09.yaml", ["bundle"]),
    ("mailings", "2009-04.yaml", ["mailing", "2009-04"]),
])
def test_symlinked_bundle_and_mailing_files_are_refused(project, tmp_path, capsys, kind, name,
                                                        argv):
    path = project / "content" / kind / name
    outside = _outside_copy(tmp_path, path, "outside")
    path.unlink()
    path.symlink_to(outside)
    assert main(["--project", str(project), "-q", *argv]) == 1
    err = capsys.readouterr().err
    assert f"{name} is a link to a file outside the project" in err and "Traceback" not in err


# -- images: JPEG stripped to its image data, SVG checked on the parsed document --------------

def test_jpeg_is_stripped_to_its_image_data(tmp_path):
    import io

    from PIL import Image

    from press.render import fetcher

    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 10, 10)).save(
        buffer, "JPEG", comment=b"SECRET-COMMENT", exif=b"Exif\0\0SECRET-EXIF")
    path = tmp_path / "assets" / "figures" / "photo.jpg"
    path.parent.mkdir(parents=True)
    path.write_bytes(buffer.getvalue() + b"PK\x03\x04SECRET-ZIP")
    served = fetcher.ProjectFetcher(tmp_path).fetch(path.as_uri())
    body = served.read()
    assert b"SECRET" not in body and body.endswith(b"\xff\xd9")
    with Image.open(io.BytesIO(body)) as image:
        image.load()
        assert image.size == (40, 20)


def test_pdf_write_has_a_time_limit(monkeypatch):
    from press.render import typeset

    class Slow:
        def write_pdf(self, *args, **kwargs):
            time.sleep(5)

    monkeypatch.setenv("PRESS_TIME_LIMIT_WRITE", "0.2")
    started = time.monotonic()
    with pytest.raises(ContentError, match="writing the PDF did not finish within 0.2 s"):
        typeset.write(typeset.Typeset(Slow(), set(), (), "x.md"), None)
    assert time.monotonic() - started < 2


def test_a_256_character_path_segment_is_one_clear_error(project, capsys):
    source = project / "content" / "briefings" / f"{SLUG}.md"
    source.write_text(source.read_text("utf-8") + f"\n![A chart](../../assets/{'a' * 256}.png)\n",
                      encoding="utf-8")
    assert main(["--project", str(project), "-q", "check"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and ("over 255 bytes" in err or "not found" in err), err


def test_a_nul_in_a_mailing_path_is_refused_at_its_line(project):
    from press.products.mailing.load import load_mailing

    path = project / "content" / "mailings" / "2009-04.yaml"
    text = path.read_text("utf-8").replace("letter: 2009-04-letter.md",
                                           'letter: "2009-04\\0letter.md"')
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        load_mailing(Project.at(project), "2009-04")
    assert "2009-04.yaml:7: U+0000 is a control character" in str(caught.value)


def test_a_jpeg_reaches_the_pdfs_stripped(project):
    """End to end: the stripped bytes are the ones embedded (WeasyPrint re-read a local JPEG
    from its path, so a comment, EXIF text and a ZIP after the image went into the PDFs)."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (400, 200), (200, 10, 10)).save(
        buffer, "JPEG", comment=b"SECRET-COMMENT", exif=b"Exif\0\0SECRET-EXIF")
    figure = project / "assets" / "figures" / "photo.jpg"
    figure.write_bytes(buffer.getvalue() + b"PK\x03\x04SECRET-ZIP")
    source = project / "content" / "briefings" / f"{SLUG}.md"
    source.write_text(source.read_text("utf-8") + "\n![A red photograph](../../assets/figures/"
                      "photo.jpg)\n\nFigure: A red photograph.\n", encoding="utf-8")
    assert main(["--project", str(project), "-q", "briefing", SLUG]) == 0
    for edition in ("web", "print"):
        data = (project / "output" / edition / f"{SLUG}.pdf").read_bytes()
        assert b"/DCTDecode" in data or b"/FlateDecode" in data
        assert b"SECRET" not in data, edition
