"""`cbx review`: one self-contained HTML page to listen to a render chunk by chunk and find the takes to redo.

The page is read from a render's manifest: each chunk's text, seed, span, warnings and (after a verified render)
transcript, score and attempts, with that chunk's own take from the take cache (the manifest's ``take`` keys)
as a player. It must open from a file, with no server, so every take is embedded as a ``data:`` URI. Takes are
encoded as Ogg/Opus through soundfile (libsndfile 1.0.29+ writes Opus, so no other dependency), at libsndfile's
default Opus rate, about 37 kbit/s for speech instead of 24 kHz WAV's 384: an hour of takes is about 22 MB of page
after base64. Players load nothing until played (``preload="none"``), so a long book's page opens at once. Every
text is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import io
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cbx_cli.deliver.manifest import read_manifest
from cbx_cli.deliver.safety import Named, check_clashes
from cbx_cli.errors import InputError
from cbx_cli.files import check_output_path, write_bytes_atomic
from cbx_cli.render.cache import TakeCache

OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
"""The sample rates an Opus stream carries; a take at another rate is resampled to the next one up."""


@dataclass
class ReviewChunk:
    """One row of the page: a manifest chunk with its audio (a data: URI, or None when the cache lacks it)."""

    number: int
    """1-based, as `cbx plan` numbers chunks and `cbx retake --chunk` takes them."""
    chapter: str
    entry: dict[str, Any]
    audio: str | None = None
    seconds: float | None = None
    flags: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


def load_manifest(path: Path) -> dict[str, Any]:
    """A render's manifest (`--manifest`), checked field by field, or an InputError saying what to pass instead."""
    try:
        return read_manifest(path)
    except InputError as exc:
        if not Path(path).exists() and not Path(path).is_symlink():
            raise InputError(f"Manifest '{path}' does not exist; write one with `cbx book ... --manifest FILE`.") \
                from None
        raise exc from None


def flags_of(entry: dict[str, Any]) -> list[str]:
    """Why a chunk needs a listen: its warnings, and a verification it did not pass."""
    flags = [str(w) for w in entry.get("warnings") or []]
    if entry.get("passed") is False or entry.get("verified") is False:
        flags.append("did not pass verification")
    return flags


def review_chunks(manifest: dict[str, Any], cache: TakeCache | None) -> list[ReviewChunk]:
    """Every chunk of the manifest with its take's audio, flagged chunks first, each group in script order.

    Takes are read and encoded on a thread per core (libsndfile's encoder runs outside the GIL): Opus encodes an
    hour of takes in about a minute on one core, and only the takes being encoded are held in memory."""
    titles = _chapter_titles(manifest)
    rows = [ReviewChunk(number, titles.get(entry.get("chapter"), "Chapter"), entry, flags=flags_of(entry))
            for number, entry in enumerate(manifest["chunks"], 1)]
    if cache is not None:
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            list(pool.map(lambda row: _add_audio(row, cache), rows))
    return sorted(rows, key=lambda r: not r.flagged)


def _add_audio(row: ReviewChunk, cache: TakeCache) -> None:
    """The row's take from the cache, as the output has it, encoded for the page (nothing when it is missing)."""
    key = row.entry.get("take")
    hit = cache.get(key) if key else None
    if hit is not None:
        audio = _trimmed(hit.audio, hit.sample_rate, row.entry.get("trimmed"))
        row.seconds = len(audio) / hit.sample_rate
        row.audio = opus_data_uri(audio, hit.sample_rate)


def _trimmed(audio: np.ndarray, sample_rate: int, trimmed: Any) -> np.ndarray:
    """The cached take less the tail a verified render cut from it (``trimmed`` seconds), as the output has it."""
    if not _number(trimmed) or trimmed <= 0:
        return audio
    return audio[: max(1, len(audio) - int(round(trimmed * sample_rate)))]


def _chapter_titles(manifest: dict[str, Any]) -> dict[Any, str]:
    """Chapter index → title. The manifest lists chapters in the order their first chunks come."""
    order = list(dict.fromkeys(entry.get("chapter") for entry in manifest["chunks"]))
    marks = manifest.get("chapters") or []
    return {ch: str(marks[i].get("title")) if i < len(marks) else f"Chapter {i + 1}" for i, ch in enumerate(order)}


def opus_data_uri(audio: np.ndarray, sample_rate: int) -> str:
    """The take as an Ogg/Opus ``data:`` URI (resampled to an Opus rate when it is not one)."""
    import soundfile as sf

    rate = next((r for r in OPUS_RATES if r >= sample_rate), OPUS_RATES[-1])
    if rate != sample_rate:
        from cbx_cli.assemble.effects import resample

        audio = resample(audio, sample_rate, rate)
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(audio, -1.0, 1.0), rate, format="OGG", subtype="OPUS")
    return "data:audio/ogg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _text(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _facts(row: ReviewChunk) -> str:
    """The row's one-line facts: seed, duration, position in the output, score, attempts, trim, retake."""
    e = row.entry
    seconds = row.seconds if row.seconds is not None else _span(e)
    facts = [f"seed {_text(e.get('seed'))}", f"{seconds:.1f} s" if seconds is not None else "no audio"]
    if _number(e.get("start")):
        facts.append(f"at {int(e['start'] // 60)}:{e['start'] % 60:04.1f}")
    if e.get("score") is not None:
        errors = f" ({_text(e['errors'])} errors in {_text(e['words'])} words)" if "errors" in e and "words" in e \
            else ""
        facts.append(f"score <b>{_score(e['score'])}</b>{errors}")
    attempts = e.get("attempts")
    if attempts is not None:
        facts.append(f"attempts {len(attempts) if isinstance(attempts, list) else _text(attempts)}")
    if _number(e.get("trimmed")) and e["trimmed"] > 0:
        facts.append(f"tail trimmed {e['trimmed']:.2f} s")
    if e.get("retake"):
        facts.append(f"retake {_text(e['retake'])}")
    return " · ".join(facts)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _score(value: Any) -> str:
    return _text(f"{value:.2f}" if isinstance(value, float) else value)


def _span(entry: dict[str, Any]) -> float | None:
    start, end = entry.get("start"), entry.get("end")
    return end - start if _number(start) and _number(end) else None


def _attempt(attempt: Any) -> str:
    """One take tried for the chunk, as a verified render lists it: {seed, seconds, transcript, score, errors,
    passed, kept}; what else it holds is shown as it is."""
    if not isinstance(attempt, dict):
        return _text(attempt)
    a = dict(attempt)
    parts = [f"seed {_text(a.pop('seed', '?'))}"]
    if _number(a.get("seconds")):
        parts.append(f"{a.pop('seconds'):.1f} s")
    if "score" in a:
        errors = f" ({_text(a.pop('errors'))} errors)" if "errors" in a else ""
        parts.append(f"score {_score(a.pop('score'))}{errors}")
    if "passed" in a:
        parts.append("passed" if a.pop("passed") else "failed")
    if a.pop("kept", False):
        parts.append("<b>kept</b>")
    heard = a.pop("transcript", None)
    parts += [f"{_text(k)} {_text(v)}" for k, v in a.items()]
    return " · ".join(parts) + (f"<br><i>heard: {_text(heard)}</i>" if heard is not None else "")


def _attempts(attempts: Any) -> str:
    """Every take tried for the chunk, when the manifest lists them."""
    if not isinstance(attempts, list) or not attempts:
        return ""
    items = "".join(f"<li>{_attempt(a)}</li>" for a in attempts)
    return f"<details><summary>{len(attempts)} attempts</summary><ol class=attempts>{items}</ol></details>"


def render_row(row: ReviewChunk) -> str:
    """One chunk as an <article>: its facts, text, flags, transcript, attempts and player."""
    e = row.entry
    flags = "".join(f"<li>{_text(f)}</li>" for f in row.flags)
    heard = f"<p class=heard>heard: {_text(e['transcript'])}</p>" if e.get("transcript") is not None else ""
    player = (f'<audio controls preload="none" src="{row.audio}"></audio>' if row.audio
              else "<p class=missing>This take is not in the take cache (rendered with --no-cache, or cleared).</p>")
    return (
        f'<article class="chunk{" flagged" if row.flagged else ""}" id="chunk-{row.number}" '
        f'data-chapter="{_text(row.chapter)}" data-flagged="{"yes" if row.flagged else "no"}">'
        f"<h2>#{row.number} <span class=chapter>{_text(row.chapter)}</span></h2>"
        f"<p class=facts>{_facts(row)}</p><p class=text>{_text(e.get('text', ''))}</p>"
        f"{f'<ul class=flags>{flags}</ul>' if flags else ''}{heard}{_attempts(e.get('attempts'))}{player}</article>"
    )


def render_page(manifest: dict[str, Any], rows: list[ReviewChunk], title: str) -> str:
    """The whole page: header with counts and filters, then every row."""
    chapters = list(dict.fromkeys(r.chapter for r in sorted(rows, key=lambda r: r.number)))
    options = "".join(f'<option value="{_text(c)}">{_text(c)}</option>' for c in chapters)
    flagged = sum(r.flagged for r in rows)
    missing = sum(r.audio is None for r in rows)
    summary = (f"{len(rows)} chunks, {flagged} flagged"
               + (f", {missing} without audio in the cache" if missing else "")
               + f" · model {_text(manifest.get('model', '?'))}")
    return PAGE.format(
        title=_text(title), summary=summary, chapters=options, rows="\n".join(render_row(r) for r in rows),
    )


def build_review(manifest_path: Path, cache_dir: Path | None = None, page: Path | None = None) -> str:
    """The review page for a manifest; takes come from ``cache_dir``, else the cache the manifest names. With
    ``page`` (where the page goes), that path is checked first against every take the page reads."""
    manifest = load_manifest(manifest_path)
    where = cache_dir if cache_dir is not None else manifest.get("cache")
    cache = TakeCache(Path(where)) if where else None
    if page is not None and cache is not None:
        takes = [Named(f"the take of chunk {n}", cache.path_of(e["take"]))
                 for n, e in enumerate(manifest["chunks"], 1) if e.get("take")]
        check_clashes([Named("-o", Path(page))], takes)
    return render_page(manifest, review_chunks(manifest, cache), f"Review of {Path(manifest_path).name}")


def write_review(manifest_path: Path, page: Path, cache_dir: Path | None = None) -> str:
    """Write the review page of ``manifest_path`` to ``page`` atomically, never over the manifest, and return it.
    The page's path is checked before any take is read."""
    check_output_path(str(page), "-o")
    check_clashes([Named("-o", page)], [Named("the manifest", manifest_path)])
    text = build_review(manifest_path, cache_dir, page)
    write_bytes_atomic(page, text.encode("utf-8"))
    return text


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 60rem; padding: 1rem; color: #222; }}
header {{ position: sticky; top: 0; background: #fff; padding: .5rem 0; border-bottom: 1px solid #ccc; }}
h1 {{ font-size: 1.3rem; margin: 0 0 .3rem; }}
.chunk {{ border: 1px solid #ddd; border-left: 6px solid #9c9; border-radius: 4px; margin: .7rem 0;
  padding: .5rem .8rem; }}
.chunk.flagged {{ border-left-color: #d33; background: #fff6f6; }}
.chunk h2 {{ font-size: 1rem; margin: 0; }} .chapter {{ color: #666; font-weight: normal; }}
.facts {{ color: #555; margin: .2rem 0; font-size: .9rem; }} .text {{ margin: .3rem 0; font-size: 1.05rem; }}
.flags {{ color: #b00; margin: .2rem 0; }} .heard {{ color: #036; font-style: italic; margin: .2rem 0; }}
.missing {{ color: #a60; }} .hint {{ color: #666; font-size: .85rem; margin: .3rem 0 0; }}
audio {{ width: 100%; height: 2rem; }} [hidden] {{ display: none; }}
</style></head>
<body><header><h1>{title}</h1><p id=summary>{summary}</p>
<label>Chapter <select id=chapter><option value="">all</option>{chapters}</select></label>
<label>Show <select id=flag><option value="">all chunks</option><option value="yes">flagged only</option>
<option value="no">unflagged only</option></select></label> <span id=shown></span>
<p class=hint>To redo chunk N: <code>cbx retake SCRIPT --chunk N</code> with the options of the render.</p></header>
<main id=chunks>
{rows}
</main>
<script>
(function () {{
  var chapter = document.getElementById("chapter"), flag = document.getElementById("flag");
  var rows = Array.prototype.slice.call(document.querySelectorAll("article.chunk"));
  function apply() {{
    var shown = 0;
    rows.forEach(function (row) {{
      var hide = (chapter.value && row.dataset.chapter !== chapter.value) ||
                 (flag.value && row.dataset.flagged !== flag.value);
      row.hidden = !!hide;
      if (!hide) shown += 1;
    }});
    document.getElementById("shown").textContent = shown + " shown";
  }}
  chapter.addEventListener("change", apply);
  flag.addEventListener("change", apply);
  apply();
}})();
</script>
</body></html>
"""
