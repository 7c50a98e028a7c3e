"""`cbx review`: the page made from a render's manifest and its cached takes, read as HTML and opened in a real
headless Chromium (Debian's package), on the fake engine."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from clirun import run

CHROMIUM = next((shutil.which(name) for name in ("chromium", "chromium-browser") if shutil.which(name)), None)
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")

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
    manifest = render(tmp_path, fake_engine)
    data = json.loads(manifest.read_text())
    data["chunks"][1].update(transcript="<script>alert(1)</script> heard", score=0.62, passed=False,
                             attempts=[{"seed": 11, "score": 0.41, "transcript": "a & b"}, {"seed": 12, "score": 0.62}])
    manifest.write_text(json.dumps(data))
    page = review(tmp_path, manifest)
    assert "<script>alert(1)" not in page and "heard: &lt;script&gt;alert(1)&lt;/script&gt; heard" in page
    assert "score <b>0.62</b>" in page and "attempts 2" in page and "transcript: a &amp; b" in page
    assert "did not pass verification" in page
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
    ("{not json", "cannot be read as JSON"),
    ('{"chunks": 3}', "is not a cbx manifest"),
])
def test_bad_manifest_is_one_line(tmp_path, content, message):
    manifest = tmp_path / "m.json"
    if content is not None:
        manifest.write_text(content)
    r = run(["review", str(manifest), "-o", str(tmp_path / "r.html")])
    assert r.exit_code == 2 and message in r.stderr and "Traceback" not in r.output
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r.html").exists()


def test_page_is_never_written_over_the_manifest(tmp_path, fake_engine):
    manifest = render(tmp_path, fake_engine)
    before = manifest.read_bytes()
    r = run(["review", str(manifest), "-o", str(manifest)])
    assert r.exit_code == 2 and "cbx never writes over what it reads" in r.stderr
    assert manifest.read_bytes() == before


PROBE = """<script>
window.addEventListener("load", function () {
  var out = document.createElement("pre"); out.id = "probe"; document.body.appendChild(out);
  var rows = document.querySelectorAll("article.chunk");
  var audio = rows[0].querySelector("audio");
  function report(duration) {
    var flag = document.getElementById("flag");
    flag.value = "yes"; flag.dispatchEvent(new Event("change"));
    var flaggedShown = document.querySelectorAll("article.chunk:not([hidden])").length;
    flag.value = ""; flag.dispatchEvent(new Event("change"));
    var chapter = document.getElementById("chapter");
    chapter.value = "The Light"; chapter.dispatchEvent(new Event("change"));
    out.textContent = JSON.stringify({rows: rows.length, first: rows[0].id, firstFlagged: rows[0].dataset.flagged,
      duration: duration, flaggedShown: flaggedShown,
      lightShown: document.querySelectorAll("article.chunk:not([hidden])").length});
  }
  audio.addEventListener("loadedmetadata", function () { report(audio.duration); });
  audio.addEventListener("error", function () { report(-1); });
  audio.preload = "metadata"; audio.load();
});
</script>"""


@needs_chromium
def test_page_in_headless_chromium(tmp_path, fake_engine):
    """The page loads from a file, lists the chunks, filters them, and the flagged chunk's player holds audio the
    browser decodes (its duration, read once its metadata loads, is the take's)."""
    manifest = render(tmp_path, fake_engine)
    page = review(tmp_path, manifest)
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + str(tmp_path / "profile"),
         "--virtual-time-budget=20000", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    found = re.search(r'<pre id="probe">([^<]*)</pre>', done.stdout)
    assert found, done.stderr[-2000:]
    result = json.loads(html.unescape(found.group(1)))
    assert result["rows"] == 5 and result["first"] == "chunk-3" and result["firstFlagged"] == "yes"
    assert result["flaggedShown"] == 1 and result["lightShown"] == 2
    assert result["duration"] == pytest.approx(1.0, abs=0.05)  # the silent take the guards flagged: 1 s
