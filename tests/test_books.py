"""Books as people have them: EPUB 2 and 3, Word, HTML and PDF, made at test time by the tools that make them
(tests/books.py), read into the Script the Markdown parser makes; chapters, titles, notes, skipped matter, tags and
cover, chapter selection, and bad files. CLI runs use the fake engine (tests/fakes.py)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import zipfile
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from books import Doc, epub, novel, pdf_file, png, word_file
from cbx_cli.api import load_script, plan_script
from cbx_cli.config.params import NarrationOptions, ReadingOptions
from cbx_cli.errors import InputError
from cbx_cli.parse.sources import load_book
from clirun import run

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffmpeg is not installed")
FAST = ["--device", "cpu", "--max-tokens", "12", "--retries", "0", "--quiet"]


def chapters(script) -> list[tuple[str | None, list[str]]]:
    return [(c.title, [p.text for p in c.paragraphs]) for c in script.chapters]


def reasons(script) -> Counter:
    return Counter(s.reason for s in script.skipped)


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


NOVEL_CHAPTERS = [
    ("Arrival", ["Chapter One: Arrival", "The boat left her at the rock at noon.", "She climbed the stairs one by one.",
                 "There were one hundred and twelve."]),
    ("The Log", ["Chapter Two: The Log", "The log book was older than the lamp.", "Day, Ships", "Monday, three"]),
    ("North Window", ["Chapter Three: North Window", "The fog came in at six.", "By morning it had gone."]),
]


@pytest.mark.parametrize("version", [2, 3])
def test_epub_reads_the_spine_with_the_tables_titles(tmp_path, version):
    # the manifest lists the documents backwards: the spine's order is the one read; the table of contents (EPUB 3's
    # nav, EPUB 2's NCX) names the chapters, the third of which is two files
    script, name = load_book(str(write(tmp_path, "novel.epub", novel(version, cover=png()))))
    assert name == "novel.epub"
    assert chapters(script) == NOVEL_CHAPTERS
    assert [p.is_title for p in script.chapters[0].paragraphs] == [True, False, False, False]
    assert script.metadata == {"title": "The Lighthouse Keeper", "author": "Ann Author", "language": "en"}
    assert script.cover is not None and script.cover.data == png() and script.cover.name == "OEBPS/images/cover.png"
    # cover page (by epub:type in EPUB 3, by the guide in EPUB 2), copyright page, contents page: skipped, named
    found = reasons(script)
    assert found["copyright page"] == 2 and found["table of contents"] == 3
    assert found["note reference"] == 1 and found["image description"] >= 1
    skipped_words = " ".join(s.text for s in script.skipped)
    assert "A lighthouse at dusk" in skipped_words and "ISBN 978-0-00-000000-0" in skipped_words


def test_epub_notes_at_the_chapters_end_or_skipped(tmp_path):
    path = write(tmp_path, "novel.epub", novel())
    end, _ = load_book(str(path))
    assert chapters(end)[0][1][-1] == "There were one hundred and twelve."
    skip, _ = load_book(str(path), reading=ReadingOptions(notes="skip"))
    assert "There were one hundred and twelve." not in [p.text for p in skip.paragraphs]
    assert [(s.reason, s.text) for s in skip.skipped if s.reason.startswith("note (")] == \
        [("note (--notes skip)", "There were one hundred and twelve.")]


def test_epub_front_matter_read_on_request(tmp_path):
    script, _ = load_book(str(write(tmp_path, "n.epub", novel())), reading=ReadingOptions(matter="read"))
    texts = [p.text for p in script.paragraphs]
    assert "ISBN 978-0-00-000000-0" in texts and "Contents" in texts


def test_epub2_endnotes_file_placed_at_the_referring_chapters(tmp_path):
    # EPUB 2 books mark notes with raised links to a notes file, no epub:type: the notes file's notes are read at
    # the end of the chapter that refers to each, its heading is named as the notes section, its back-links skipped
    book = epub([
        Doc("c1.xhtml", '<h2>One</h2><p>The bell rang<sup><a id="r1" href="notes.xhtml#n1">1</a></sup> twice.</p>',
            "One"),
        Doc("c2.xhtml", '<h2>Two</h2><p>Then it stopped<a id="r2" href="notes.xhtml#n2"><sup>[2]</sup></a>.</p>',
            "Two"),
        Doc("notes.xhtml", '<h2>Notes</h2><p id="n1"><a href="c1.xhtml#r1">1</a> A ship\'s bell.</p>'
            '<p id="n2"><a href="c2.xhtml#r2">2</a> For good.</p>', "Notes"),
    ], version=2)
    script, _ = load_book(str(write(tmp_path, "b.epub", book)))
    assert chapters(script) == [("One", ["One", "The bell rang twice.", "A ship's bell."]),
                                ("Two", ["Two", "Then it stopped.", "For good."])]
    assert [(s.reason, s.text) for s in script.skipped] == [
        ("note reference", "1"), ("note reference", "[2]"), ("notes section", "Notes"),
        ("note back-link", "1"), ("note back-link", "2")]


def test_epub_without_a_table_of_contents_has_a_chapter_per_document(tmp_path):
    book = epub([Doc("a.xhtml", "<h1>Morning</h1><p>Grey light.</p>"),
                 Doc("b.xhtml", "<p>No heading here.</p>"),
                 Doc("c.xhtml", "<section><h2>Night</h2><p>Stars.</p></section>")])
    script, _ = load_book(str(write(tmp_path, "b.epub", book)))
    assert chapters(script) == [("Morning", ["Morning", "Grey light."]), (None, ["No heading here."]),
                                ("Night", ["Night", "Stars."])]


def test_epub_anchors_split_a_document_into_chapters(tmp_path):
    body = ('<h2 id="a">First</h2><p>One.</p><h2 id="b">Second</h2><p>Two.</p><div id="c"><h2>Third</h2>'
            "<p>Three.</p></div>")
    book = epub([Doc("all.xhtml", body, entries=[("First", "a"), ("Second", "b"), ("Third", "c")])])
    script, _ = load_book(str(write(tmp_path, "b.epub", book)))
    assert [(t, ps) for t, ps in chapters(script)] == [("First", ["First", "One."]), ("Second", ["Second", "Two."]),
                                                       ("Third", ["Third", "Three."])]


def test_epub_linear_no_and_nav_in_spine_are_named(tmp_path):
    book = epub([Doc("c1.xhtml", "<h1>Only</h1><p>Text.</p>", "Only"),
                 Doc("extra.xhtml", "<p>Answers to the quiz.</p>", linear=False)], nav_in_spine=True)
    script, _ = load_book(str(write(tmp_path, "b.epub", book)))
    assert chapters(script) == [("Only", ["Only", "Text."])]
    assert {(s.reason, s.text) for s in script.skipped} >= {
        ('outside the reading order (linear="no")', "Answers to the quiz."), ("table of contents", "Contents Only")}


@pytest.mark.parametrize("extra, message", [
    ({"META-INF/rights.xml": b"<rights/>"}, "is protected by DRM (Adobe ADEPT): cbx reads only DRM-free books."),
    ({"META-INF/encryption.xml": b'<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
      b'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData><enc:EncryptionMethod '
      b'Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/><enc:CipherData><enc:CipherReference '
      b'URI="OEBPS/c1.xhtml"/></enc:CipherData></enc:EncryptedData></encryption>'},
     "is protected by DRM (its content is encrypted)"),
])
def test_drm_epub_one_line_exit_2(tmp_path, extra, message):
    path = write(tmp_path, "locked.epub", epub([Doc("c1.xhtml", "<p>Secret.</p>", "One")], extra=extra))
    r = run(["book", str(path), "-o", str(tmp_path / "o.wav")])
    assert r.exit_code == 2
    assert r.stderr.startswith(f"cbx: error: '{path.name}' {message}") and len(r.stderr.splitlines()) == 1


def test_font_obfuscation_is_not_drm(tmp_path):
    encryption = (b'<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
                  b'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData><enc:EncryptionMethod '
                  b'Algorithm="http://www.idpf.org/2008/embedding"/><enc:CipherData><enc:CipherReference '
                  b'URI="OEBPS/font.otf"/></enc:CipherData></enc:EncryptedData></encryption>')
    book = epub([Doc("c1.xhtml", "<p>Open text.</p>", "One")], extra={"META-INF/encryption.xml": encryption})
    script, _ = load_book(str(write(tmp_path, "f.epub", book)))
    assert script.paragraphs[0].text == "Open text."


BILLION_LAUGHS = ('<?xml version="1.0"?><!DOCTYPE package [<!ENTITY a "aaaaaaaaaa">'
                  '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
                  '<package xmlns="http://www.idpf.org/2007/opf"><metadata><title>&c;</title></metadata></package>')


@pytest.mark.parametrize("make, message", [
    (lambda: epub([Doc("c1.xhtml", "<p>x</p>", "One")], opf=BILLION_LAUGHS),
     "declares XML entities or external references (EntitiesForbidden): refused, as XML bombs do."),
    (lambda: epub([Doc("c1.xhtml", "<p>x</p>", "One")], opf="<package><metadata>"),
     "is not well-formed XML"),
    (lambda: epub([Doc("c1.xhtml", "<p>x</p>", "One")],
                  extra={"OEBPS/c1.xhtml": "<div>" * 300 + "deep" + "</div>" * 300}),
     "nests elements more than 256 deep: refused."),
    (lambda: _zip({"mimetype": b"application/epub+zip", "META-INF/container.xml": b"<container/>"}),
     "is not a readable EPUB: it has no package document (.opf)."),
])
def test_bad_epubs_refused_with_one_line(tmp_path, make, message):
    path = write(tmp_path, "bad.epub", make())
    r = run(["plan", str(path)])
    assert r.exit_code == 2, r.output
    assert message in r.stderr and r.stderr.startswith("cbx: error: ") and len(r.stderr.splitlines()) == 1


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_archive_bomb_refused_from_its_directory(tmp_path, monkeypatch):
    # 80 MB of spaces deflate to about 80 KB: the entry is refused by its declared size, never inflated
    book = epub([Doc("c1.xhtml", "<p>x</p>", "One")], extra={"OEBPS/c1.xhtml": b" " * (80 * 2**20)})
    r = run(["plan", str(write(tmp_path, "bomb.epub", book))])
    assert r.exit_code == 2
    assert "(OEBPS/c1.xhtml) is 80 MB uncompressed; cbx reads parts of at most 64 MB." in r.stderr
    monkeypatch.setattr("cbx_cli.parse.archive.MAX_ENTRIES", 3)
    r = run(["plan", str(write(tmp_path, "many.epub", novel()))])
    assert r.exit_code == 2 and "entries in its zip archive; cbx reads at most 3." in r.stderr


def test_kind_told_by_content_not_name(tmp_path):
    # an EPUB named .bin, an HTML page named .txt, an EPUB on stdin
    script, _ = load_book(str(write(tmp_path, "novel.bin", novel())))
    assert chapters(script) == NOVEL_CHAPTERS
    page = b"<!DOCTYPE html><html><body><h1>Saved</h1><p>From the web.</p></body></html>"
    script, _ = load_book(str(write(tmp_path, "page.txt", page)))
    assert chapters(script) == [("Saved", ["Saved", "From the web."])]
    script, name = load_book("-", io.BytesIO(novel()))
    assert name == "stdin" and chapters(script) == NOVEL_CHAPTERS


def test_html_page(tmp_path):
    page = """<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>Le Phare</title>
    <meta name="author" content="Anne Auteur"><script>var x = "not text";</script></head><body>
    <nav><a href="/">Home</a></nav><h1>Le Phare</h1><p>Préface courte.
    <h2>Un</h2><p>Il pleut<sup><a href="#n1">1</a></sup>.<p>Encore.<ul><li>Pain<li>Café</ul>
    <h2>Deux</h2><p>Soleil <span style="display: none">caché</span> enfin.</p>
    <section class="footnotes"><ol><li id="n1">Beaucoup. <a href="#r1">↩</a></li></ol></section></body></html>"""
    script, _ = load_book(str(write(tmp_path, "phare.html", page.encode())))
    assert chapters(script) == [("Le Phare", ["Le Phare", "Préface courte."]),
                                ("Un", ["Un", "Il pleut.", "Encore.", "Pain", "Café", "Beaucoup."]),
                                ("Deux", ["Deux", "Soleil enfin."])]
    assert script.metadata == {"title": "Le Phare", "author": "Anne Auteur", "language": "fr"}
    assert {(s.reason, s.text) for s in script.skipped} == {
        ("navigation", "Home"), ("note reference", "1"), ("hidden text", "caché"), ("note back-link", "↩")}


def test_word_file(tmp_path):
    path = word_file(tmp_path / "harbour.docx", footnotes={1: "Mostly herring."})
    script, _ = load_book(str(path))
    assert chapters(script) == [
        ("Harbour Notes", ["Harbour Notes"]),
        ("Chapter One", ["Chapter One", "The harbour was quiet.", "Nets, drying.", "On the quay", "Boat, Catch",
                         "Mary Ann, herring", "Mostly herring."]),
        ("Chapter Two", ["Chapter Two", "The tide turned at dusk."]),
    ]
    assert [p.is_title for p in script.chapters[1].paragraphs][:5] == [True, False, False, True, False]
    assert script.metadata == {"title": "Harbour Notes", "author": "Wanda Writer", "language": "en-GB"}
    assert [(s.reason, s.text) for s in script.skipped] == [
        ("table of contents", "Chapter One 1"), ("page header", "Harbour Notes, a running head")]
    skipped, _ = load_book(str(path), reading=ReadingOptions(notes="skip"))
    assert ("note (--notes skip)", "Mostly herring.") in [(s.reason, s.text) for s in skipped.skipped]
    assert "Mostly herring." not in [p.text for p in skipped.paragraphs]


def test_pdf_with_outline(tmp_path):
    script, _ = load_book(str(pdf_file(tmp_path / "log.pdf")))
    assert chapters(script) == [
        ("Chapter One", ["Chapter One", "The keeper wrote in the log every night at nine, before the lamp was trimmed.",
                         "Ships passed to the north and the south, some close, some far out.",
                         "Some nights the fog hid them all, and the horn sounded until it lifted again over the "
                         "water.", "The log is kept in the tower."]),
        ("Chapter Two", ["Chapter Two", "The supply boat was late that spring. The keeper waited on the rock with a "
                         "telescope and counted the gulls.",
                         "Nothing came for eleven days, and then three boats came at once."]),
        ("Chapter Three", ["Chapter Three", "The last entry in the log is short."]),
    ]
    found = reasons(script)
    assert found == {"running header or footer": 5, "page number": 5, "note reference": 2}
    assert script.metadata == {"title": "The Keeper's Log", "author": "Kim Keeper"}
    assert script.warnings == ()


def test_pdf_without_outline_says_so(tmp_path):
    script, _ = load_book(str(pdf_file(tmp_path / "log.pdf", outline=False)))
    assert [t for t, _ in chapters(script)] == ["Chapter One", "Chapter Two", "Chapter Three"]
    assert script.warnings == ("log.pdf: no outline (bookmarks): chapters start at the headings in the largest "
                               "type.",)


def test_locked_and_scanned_pdfs_one_line_exit_2(tmp_path):
    from reportlab.pdfgen import canvas

    locked = pdf_file(tmp_path / "locked.pdf", password="secret")
    r = run(["book", str(locked), "-o", str(tmp_path / "o.wav")])
    assert r.exit_code == 2 and r.stderr == ("cbx: error: 'locked.pdf' is protected by a password: cbx reads only "
                                             "unprotected PDFs. Save a copy without the password.\n")
    scan = canvas.Canvas(str(tmp_path / "scan.pdf"))
    scan.rect(10, 10, 100, 100, fill=1)
    scan.save()
    r = run(["plan", str(tmp_path / "scan.pdf")])
    assert r.exit_code == 2 and "has no text to read: its pages are images (a scan?)" in r.stderr


def test_plan_lists_chapters_and_what_is_not_read(tmp_path, monkeypatch):
    path = write(tmp_path, "novel.epub", novel())
    r = run(["plan", str(path), "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert [(c["number"], c["title"], c["words"], c["selected"]) for c in data["chapters"]] == [
        (1, "Arrival", 25, True), (2, "The Log", 16, True), (3, "North Window", 15, True)]
    assert all(c["estimated_seconds"] > 0 for c in data["chapters"])
    assert data["metadata"] == {"title": "The Lighthouse Keeper", "author": "Ann Author", "language": "en"}
    assert {"part": "OEBPS/rights.xhtml:6", "reason": "copyright page", "words": 2,
            "text": "ISBN 978-0-00-000000-0"} in data["skipped"]
    r = run(["plan", str(path), "--chapters", "2-3", "--json"])
    data = json.loads(r.stdout)
    assert [c["selected"] for c in data["chapters"]] == [False, True, True]
    assert [len(c["chunks"]) for c in data["chapters"]] == [0, 4, 3]
    assert [c["index"] for c in data["chapters"][1]["chunks"]] == [0, 1, 2, 3]
    r = run(["plan", str(path), "--chapters", "2"])
    assert r.exit_code == 0
    assert "1 of 3 chapter(s), 4 chunk(s)" in r.stdout and "Not read" in r.stdout
    assert r.stdout.endswith("Tags: title The Lighthouse Keeper; author Ann Author; language en.\n")
    monkeypatch.setattr("cbx_cli.cli.plan.MAX_ROWS", 2)  # a big book's tables are cut short, with a line saying so
    r = run(["plan", str(path)])
    assert "... and 9 more chunks (11 in all): pick chapters with --chapters, or see them all with --json." in r.stdout
    assert "... and 6 more parts not read (8 in all): see them all with --json." in r.stdout
    assert "warning: Not read: 8 part(s) of the book, 23 word(s) (1 cover page, 2 copyright page" in r.stderr


@pytest.mark.parametrize("value, message", [
    ("4", "--chapters 4: novel.epub has 3 chapter(s), numbered 1 to 3 as `cbx plan` lists them."),
    ("2-x", "--chapters takes chapter numbers and ranges as `cbx plan` lists them, such as 3-7,12."),
    ("0", "--chapters takes chapter numbers and ranges as `cbx plan` lists them, such as 3-7,12."),
])
def test_bad_chapter_selection(tmp_path, value, message):
    r = run(["book", str(write(tmp_path, "novel.epub", novel())), "-o", str(tmp_path / "o.wav"), "--chapters",
             value, *FAST])
    assert r.exit_code == 2 and r.stderr == f"cbx: error: {message}\n"


def test_adding_chapters_later_renders_only_the_new_ones(fake_engine, tmp_path):
    path = write(tmp_path, "novel.epub", novel())
    out, manifest = tmp_path / "book.wav", tmp_path / "book.json"
    args = ["book", str(path), "-o", str(out), "--manifest", str(manifest), "--device", "cpu", "--max-tokens", "12",
            "--retries", "0"]
    r = run([*args, "--chapters", "1-2"])
    assert r.exit_code == 0, r.output
    assert "8 chunks (8 rendered, 0 from cache" in r.stderr
    r = run([*args, "--chapters", "1-3"])
    assert r.exit_code == 0, r.output
    assert "11 chunks (3 rendered, 8 from cache" in r.stderr
    assert [c["title"] for c in json.loads(manifest.read_text())["chapters"]] == ["Arrival", "The Log",
                                                                                 "North Window"]


@needs_ffmpeg
def test_book_tags_and_cover_reach_the_m4b(fake_engine, tmp_path):
    path = write(tmp_path, "novel.epub", novel(3, cover=png()))
    out = tmp_path / "novel.m4b"
    r = run(["book", str(path), "-o", str(out), *FAST])
    assert r.exit_code == 0, r.output
    info = _probe(out)
    assert info["format"]["tags"]["title"] == "The Lighthouse Keeper"
    assert info["format"]["tags"]["artist"] == "Ann Author"
    audio = next(s for s in info["streams"] if s["codec_type"] == "audio")
    assert audio["tags"]["language"] == "eng"
    picture = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert picture["disposition"]["attached_pic"] == 1 and picture["codec_name"] == "png"
    assert [c["tags"]["title"] for c in info["chapters"]] == ["Arrival", "The Log", "North Window"]
    cover = tmp_path / "mine.png"
    cover.write_bytes(png(32, 8))
    r = run(["book", str(path), "-o", str(out), "--title", "Mine", "--author", "Me", "--cover", str(cover), *FAST])
    assert r.exit_code == 0, r.output
    info = _probe(out)
    assert (info["format"]["tags"]["title"], info["format"]["tags"]["artist"]) == ("Mine", "Me")
    assert next(s for s in info["streams"] if s["codec_type"] == "video")["width"] == 32


def _probe(path) -> dict:
    done = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-show_streams", "-show_chapters", "-of",
                           "json", str(path)], capture_output=True, check=True)
    return json.loads(done.stdout)


def test_batch_reads_books_and_picks_chapters_per_script(fake_engine, tmp_path):
    write(tmp_path, "novel.epub", novel())
    word_file(tmp_path / "harbour.docx")
    out = tmp_path / "out"
    r = run(["batch", str(tmp_path / "novel.epub"), str(tmp_path / "harbour.docx"), "-o", str(out), "--chapters",
             "2", "--manifests", "--no-verify", *FAST])
    assert r.exit_code == 0, r.output
    novel_chunks = json.loads((out / "novel.json").read_text())["chunks"]
    harbour_chunks = json.loads((out / "harbour.json").read_text())["chunks"]
    assert [c["text"] for c in novel_chunks][0] == "Chapter Two: The Log"
    assert [c["text"] for c in harbour_chunks][0] == "Chapter One"


def test_library_loads_books(tmp_path):
    script, name = load_script(str(write(tmp_path, "novel.epub", novel())), reading=ReadingOptions(matter="read"))
    # read whole, the copyright and contents pages are chapters too (the cover page has only its image)
    assert [c.title for c in script.chapters] == ["Copyright", "Contents", "Arrival", "The Log", "North Window"]
    the_plan, _, _ = plan_script(script, NarrationOptions(chapters="5"))
    assert name == "novel.epub" and [c.text for c in the_plan.chunks] == NOVEL_CHAPTERS[2][1]
    with pytest.raises(InputError, match="has no text to read"):
        load_book(str(write(tmp_path, "empty.epub", epub([Doc("c.xhtml", '<img src="a.png" alt=""/>', "C")]))))


WORD = st.sampled_from("tide lamp rock gull fog bell rope keeper north stairs night boat log salt wind 1907 "
                       "oil glass harbour shore".split())
SENTENCE = st.lists(WORD, min_size=1, max_size=10).map(lambda ws: " ".join(ws).capitalize() + ".")
PARAGRAPH = st.lists(SENTENCE, min_size=1, max_size=3).map(" ".join)
CHAPTER = st.fixed_dictionaries({
    "heading": st.lists(WORD, min_size=1, max_size=4).map(" ".join),
    "paragraphs": st.lists(PARAGRAPH, min_size=1, max_size=3),
    "note": st.none() | PARAGRAPH,
    "alt": st.none() | st.lists(WORD, min_size=1, max_size=4).map(" ".join),
    "hidden": st.none() | PARAGRAPH,
})


@settings(max_examples=30)
@given(book=st.lists(CHAPTER, min_size=1, max_size=4), copyright_page=st.booleans(), nav_in_spine=st.booleans(),
       notes=st.sampled_from(["end", "skip"]), version=st.sampled_from([2, 3]))
def test_every_word_is_spoken_or_named(book, copyright_page, nav_in_spine, notes, version):
    """For generated EPUBs: the plan's spoken words and the words of the parts it names as not read are the book's
    words, each exactly once."""
    docs, words = [], Counter()
    if copyright_page:
        text = "Copyright \u00a9 2024 Ann Author. All rights reserved."
        docs.append(Doc("rights.xhtml", f'<section epub:type="copyright-page"><p>{text}</p></section>', "Rights"))
        words.update(text.split())
    for n, chapter in enumerate(book, start=1):
        body = f"<h1>{chapter['heading']}</h1>" + "".join(f"<p>{p}</p>" for p in chapter["paragraphs"])
        words.update(chapter["heading"].split() + " ".join(chapter["paragraphs"]).split())
        if chapter["note"]:
            body += (f'<p>See<a epub:type="noteref" href="#fn{n}">{n}</a>.</p>'
                     f'<aside epub:type="footnote" id="fn{n}"><p>{chapter["note"]}</p></aside>')
            words.update(["See.", str(n)] + chapter["note"].split())
        if chapter["alt"]:
            body += f'<p><img src="x.png" alt="{chapter["alt"]}"/></p>'
            words.update(chapter["alt"].split())
        if chapter["hidden"]:
            body += f'<p hidden="hidden">{chapter["hidden"]}</p>'
            words.update(chapter["hidden"].split())
        docs.append(Doc(f"c{n}.xhtml", body, f"Part {n}"))
    if nav_in_spine and version == 3:
        words.update(["Contents"] + [w for d in docs for w in (d.label or "").split()])
    data = epub(docs, version=version, nav_in_spine=nav_in_spine)
    script, _ = load_book("-", io.BytesIO(data), reading=ReadingOptions(notes=notes))
    the_plan, _, _ = plan_script(script, NarrationOptions())
    spoken = Counter(w for c in the_plan.chunks for w in c.text.split())
    named = Counter(w for s in the_plan.skipped for w in s.text.split())
    assert spoken + named == words


def test_a_book_in_another_language_says_how_to_read_it(tmp_path):
    script, _ = load_book(str(write(tmp_path, "fr.epub", epub([Doc("c.xhtml", "<p>Bonjour.</p>", "Un")],
                                                              language="fr-FR"))))
    the_plan, _, _ = plan_script(script, NarrationOptions())
    assert ("The book's language is fr-FR, and it will be read as en. For fr-FR, narrate it with --model multilingual "
            "--language fr.") in the_plan.warnings
    the_plan, _, _ = plan_script(script, NarrationOptions(language="fr"), model="multilingual")
    assert not [w for w in the_plan.warnings if "language" in w]


def test_book_bench_prints_its_figures():
    # the command docs/books.md quotes, on a book small enough for a test (its figures are not checked here)
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "scripts" / "book_bench.py"
    done = subprocess.run([sys.executable, str(script), "--chapters", "3", "--megabytes", "0.03"], capture_output=True,
                          text=True, timeout=120, check=True)
    lines = done.stdout.splitlines()
    assert lines[0].startswith("book: 3 chapters, ") and lines[-1].startswith("peak memory: ")
    assert any(line.startswith("total: ") and " s/MB (" in line for line in lines)


@pytest.mark.parametrize("module, make, hint", [
    ("docx", lambda tmp: word_file(tmp / "w.docx"),
     "Reading Word files needs python-docx: pip install 'cbx-cli[docx]'."),
    ("pypdf", lambda tmp: pdf_file(tmp / "p.pdf"), "Reading PDF files needs pypdf: pip install 'cbx-cli[pdf]'."),
])
def test_a_missing_format_library_says_how_to_install_it(tmp_path, monkeypatch, module, make, hint):
    import sys

    path = make(tmp_path)
    monkeypatch.setitem(sys.modules, module, None)  # as if the extra were not installed
    r = run(["plan", str(path)])
    assert r.exit_code == 2 and r.stderr == f"cbx: error: {hint}\n"


def test_epub2_footnotes_in_the_same_document(tmp_path):
    body = ('<h2>One</h2><p>It was cold<a href="#fn1" id="r1"><sup>1</sup></a> outside.</p><p>More.</p>'
            '<hr/><p id="fn1"><a href="#r1">1.</a> Very cold.</p>')
    script, _ = load_book(str(write(tmp_path, "b.epub", epub([Doc("c1.xhtml", body, "One"),
                                                              Doc("c2.xhtml", "<h2>Two</h2><p>x.</p>", "Two")],
                                                             version=2))))
    assert chapters(script)[0] == ("One", ["One", "It was cold outside.", "More.", "Very cold."])
