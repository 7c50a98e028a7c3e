"""`cbx review`: the page made from a render's manifest and its cached takes, read as HTML and opened in a real
headless Chromium (Debian's package), on the fake engine."""

from __future__ import annotations

import html
import json
from html.parser import HTMLParser

import pytest

from browser import BINARY, Chromium
from clirun import run

needs_chromium = pytest.mark.skipif(BINARY is None, reason="chromium is not installed (apt-get install chromium)")

BOOK = """\
# The Harbour

Mara said "5 < 6 & 7 > 3" at the pier.

She carried one suitcase.

# The Light

The lamp burned until dawn.
"""


class Articles(HTMLParser):
    """The page's chunk rows in page order: id, data attributes, whether an <audio> with a data: URI is inside."""

    def __init__(self):
        super().__init__()
        self.rows: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "article":
            self.rows.append({"id": attrs["id"], "flagged": attrs["data-flagged"], "chapter": attrs["data-chapter"],
                              "audio": False})
        elif tag == "audio" and self.rows:
            self.rows[-1]["audio"] = attrs.get("src", "").startswith("data:audio/ogg;base64,")


def render(tmp_path, fake_engine, *extra: str):
    """The book rendered with its third chunk's take silent (flagged: --retries 0); returns the manifest path."""
    script = tmp_path / "book.md"
    script.write_text(BOOK)
    plan = json.loads(run(["plan", str(script), "--json"]).stdout)
    seeds = [c["seed"] for chapter in plan["chapters"] for c in chapter["chunks"]]
    fake_engine.knobs["silent_seeds"] = {seeds[2]}
    manifest = tmp_path / "book.json"
    r = run(["book", str(script), "-o", str(tmp_path / "book.wav"), "--manifest", str(manifest), "--retries", "0",
             *extra])
    assert r.exit_code == 0, r.output
    return manifest


def review(tmp_path, manifest, *extra: str) -> str:
    page = tmp_path / "review.html"
    r = run(["review", str(manifest), "-o", str(page), *extra])
    assert r.exit_code == 0, r.output
    return page.read_text(encoding="utf-8")


def test_page_lists_every_chunk_flagged_first_with_its_take(tmp_path, fake_engine):
    manifest = render(tmp_path, fake_engine)
    page = review(tmp_path, manifest)
    parser = Articles()
    parser.feed(page)
    rows = parser.rows
    assert [r["id"] for r in rows] == ["chunk-3", "chunk-1", "chunk-2", "chunk-4", "chunk-5"]
    assert [r["flagged"] for r in rows] == ["yes"] + ["no"] * 4
    assert all(r["audio"] for r in rows)
    assert {r["chapter"] for r in rows} == {"The Harbour", "The Light"}
    data = json.loads(manifest.read_text())
    said = next(c["text"] for c in data["chunks"] if "pier" in c["text"])
    assert "<" in said and html.escape(said) in page and said not in page
    assert "mostly silence" in page or "silent" in page
    assert f"seed {data['chunks'][2]['seed']}" in page


def test_verification_fields_are_shown_escaped(tmp_path, fake_engine):
    """A verified render's fields (as `--verify` writes them) are on the page, escaped; a take that did not pass
    is flagged; the take is played without the tail verification trimmed from it."""
    manifest = render(tmp_path, fake_engine)
    data = json.loads(manifest.read_text())
    seconds = data["chunks"][1]["end"] - data["chunks"][1]["start"]
    tried = [{"seed": 11, "seconds": 3.0, "transcript": "a & b", "score": 0.4, "errors": 3, "passed": False,
              "kept": False},
             {"seed": data["chunks"][1]["seed"], "seconds": 2.9, "transcript": "<i>heard</i>", "score": 0.625,
              "errors": 3, "passed": False, "kept": True}]
    data["chunks"][1].update(transcript="<script>alert(1)</script> heard", score=0.625, errors=3, words=8,
                             verified=False, trimmed=0.5, attempts=tried)
    manifest.write_text(json.dumps(data))
    page = review(tmp_path, manifest)
    assert "<script>alert(1)" not in page and "heard: &lt;script&gt;alert(1)&lt;/script&gt; heard" in page
    assert "score <b>0.62</b> (3 errors in 8 words)" in page and "attempts 2" in page
    assert "seed 11 · 3.0 s · score 0.40 (3 errors) · failed<br><i>heard: a &amp; b</i>" in page
    assert "score 0.62 (3 errors) · failed · <b>kept</b><br><i>heard: &lt;i&gt;heard&lt;/i&gt;</i>" in page
    assert "did not pass verification" in page and "tail trimmed 0.50 s" in page
    assert f"{seconds - 0.5:.1f} s · at" in page
    parser = Articles()
    parser.feed(page)
    assert [r["id"] for r in parser.rows[:2]] == ["chunk-2", "chunk-3"]


def test_takes_missing_from_the_cache_are_said_not_dropped(tmp_path, fake_engine):
    manifest = render(tmp_path, fake_engine, "--no-cache")
    page = review(tmp_path, manifest)
    assert page.count("not in the take cache") == 5
    assert "5 without audio in the cache" in page


def test_cache_dir_is_found_through_the_manifest_or_given(tmp_path, fake_engine):
    manifest = render(tmp_path, fake_engine, "--cache-dir", str(tmp_path / "takes"))
    assert json.loads(manifest.read_text())["cache"] == str(tmp_path / "takes")
    assert "not in the take cache" not in review(tmp_path, manifest)
    assert review(tmp_path, manifest, "--cache-dir", str(tmp_path / "empty")).count("not in the take cache") == 5


@pytest.mark.parametrize("content, message", [
    (None, "does not exist; write one with `cbx book ... --manifest FILE`"),
    ("{not json", "cannot be read: it is not valid JSON (line 1, column 2). Pass the file --manifest wrote."),
    ('{"chunks": 3}', "chunks = 3: Input should be a valid list. Pass the file --manifest wrote."),
])
def test_bad_manifest_is_one_line(tmp_path, content, message):
    manifest = tmp_path / "m.json"
    if content is not None:
        manifest.write_text(content)
    r = run(["review", str(manifest), "-o", str(tmp_path / "r.html")])
    assert r.exit_code == 2 and message in r.stderr and "Traceback" not in r.output
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r.html").exists()


def test_a_take_that_is_not_a_cache_entry_is_missing_not_read(tmp_path, fake_engine):
    """An entry swapped for a link to /dev/zero, or for another chunk's entry: the page says those takes are missing,
    and reads neither."""
    manifest = render(tmp_path, fake_engine, "--cache-dir", str(tmp_path / "takes"))
    keys = [c["take"] for c in json.loads(manifest.read_text())["chunks"]]
    entry = lambda key: tmp_path / "takes" / key[:2] / f"{key}.take"  # noqa: E731
    entry(keys[0]).unlink()
    entry(keys[0]).symlink_to("/dev/zero")
    entry(keys[1]).write_bytes(entry(keys[3]).read_bytes())
    page = review(tmp_path, manifest)
    assert page.count("not in the take cache") == 2 and "2 without audio in the cache" in page


def test_page_is_never_written_over_the_manifest(tmp_path, fake_engine):
    manifest = render(tmp_path, fake_engine)
    before = manifest.read_bytes()
    r = run(["review", str(manifest), "-o", str(manifest)])
    assert r.exit_code == 2 and "cbx never writes over what it reads" in r.stderr
    assert manifest.read_bytes() == before


PROBE = """new Promise(function (resolve, reject) {
  var rows = document.querySelectorAll("article.chunk");
  var audio = rows[0].querySelector("audio");
  function shown(select, value) {
    select.value = value; select.dispatchEvent(new Event("change"));
    return document.querySelectorAll("article.chunk:not([hidden])").length;
  }
  function report() {
    var flag = document.getElementById("flag"), chapter = document.getElementById("chapter");
    var result = {rows: rows.length, first: rows[0].id, firstFlagged: rows[0].dataset.flagged,
                  duration: audio.duration, flaggedShown: shown(flag, "yes")};
    shown(flag, "");
    result.lightShown = shown(chapter, "The Light");
    resolve(result);
  }
  audio.addEventListener("loadedmetadata", report);
  audio.addEventListener("error", function () { reject(new Error("audio error " + audio.error.code)); });
  setTimeout(function () { reject(new Error("no audio metadata in 30 s")); }, 30000);
  audio.preload = "metadata"; audio.load();
})"""


@needs_chromium
def test_page_in_headless_chromium(tmp_path, fake_engine):
    """The page loads from a file, lists the chunks, filters them, and the flagged chunk's player holds audio the
    browser decodes (its duration, read once its metadata loads, is the take's)."""
    manifest = render(tmp_path, fake_engine)
    review(tmp_path, manifest)
    browser = Chromium(tmp_path / "profile")
    try:
        page = browser.open((tmp_path / "review.html").as_uri())
        result = browser.evaluate(page, PROBE)
    finally:
        browser.close()
    assert result["rows"] == 5 and result["first"] == "chunk-3" and result["firstFlagged"] == "yes"
    assert result["flaggedShown"] == 1 and result["lightShown"] == 2
    assert result["duration"] == pytest.approx(1.0, abs=0.05)  # the silent take the guards flagged: 1 s
