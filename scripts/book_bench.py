"""How fast cbx plans a big book, and in how much memory: `cbx plan`'s work (read the file, plan every chunk) on a
generated EPUB of --chapters chapters and about --megabytes of text.

    python scripts/book_bench.py --chapters 1000 --megabytes 50

The book is written first (prose from a word list, with figures, dates and a footnote per chapter, so the normalizer
has work to do); then a fresh interpreter reads and plans it, so its peak memory is the planning's own. Prints the
seconds per megabyte of the file's text and the peak resident memory.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

WORDS = ("the keeper wrote in log every night before lamp was trimmed ships passed north and south some close far "
         "out fog hid them all horn sounded until it lifted again over water supply boat late that spring waited "
         "on rock with telescope counted gulls nothing came for days then three boats at once Dr. Reed said").split()
FIGURES = ["1907", "3.30", "12th", "£4", "42%", "03/11/1998", "10 km", "1/2", "XIV"]


def paragraph(rng: random.Random) -> str:
    sentences = []
    for _ in range(rng.randint(2, 6)):
        words = [rng.choice(WORDS) if rng.random() > 0.03 else rng.choice(FIGURES) for _ in range(rng.randint(6, 22))]
        sentences.append(" ".join(words).capitalize() + rng.choice(".!?."))
    return " ".join(sentences)


def write_book(path: Path, chapters: int, megabytes: float, seed: int = 1) -> int:
    """An EPUB 3 of ``chapters`` chapters and about ``megabytes`` of XHTML; returns its text's size in bytes."""
    rng = random.Random(seed)
    per_chapter = int(megabytes * 1_000_000 / chapters)
    text_bytes = 0
    with zipfile.ZipFile(path, "w") as book:
        book.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")
        book.writestr("META-INF/container.xml", '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:'
                      'tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" '
                      'media-type="application/oebps-package+xml"/></rootfiles></container>')
        items, spine, links = [], [], []
        for n in range(1, chapters + 1):
            parts, size = [f"<h1>Chapter {n}</h1>"], 0
            while size < per_chapter:
                piece = f"<p>{paragraph(rng)}</p>"
                if len(parts) == 3:
                    piece = f'<p>{paragraph(rng)}<a epub:type="noteref" href="#n{n}">1</a></p>'
                parts.append(piece)
                size += len(piece)
            parts.append(f'<aside epub:type="footnote" id="n{n}"><p>{paragraph(rng)}</p></aside>')
            body = "\n".join(parts)
            text_bytes += len(body.encode())
            book.writestr(f"OEBPS/c{n}.xhtml", '<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/'
                          '1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"><head><title>c</title></head><body>'
                          f"{body}</body></html>", compress_type=zipfile.ZIP_DEFLATED)
            items.append(f'<item id="c{n}" href="c{n}.xhtml" media-type="application/xhtml+xml"/>')
            spine.append(f'<itemref idref="c{n}"/>')
            links.append(f'<li><a href="c{n}.xhtml">Chapter {n}</a></li>')
        book.writestr("OEBPS/nav.xhtml", '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/'
                      f'2007/ops"><body><nav epub:type="toc"><ol>{"".join(links)}</ol></nav></body></html>')
        book.writestr("OEBPS/content.opf", '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" '
                      'version="3.0"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Bench</dc:title>'
                      '<dc:language>en</dc:language></metadata><manifest><item id="nav" href="nav.xhtml" '
                      f'media-type="application/xhtml+xml" properties="nav"/>{"".join(items)}</manifest><spine>'
                      f'{"".join(spine)}</spine></package>', compress_type=zipfile.ZIP_DEFLATED)
    return text_bytes


def measure(path: str) -> dict:
    """Read and plan the book in this (fresh) interpreter: seconds and peak memory."""
    from cbx_cli.api import load_script, plan_script
    from cbx_cli.config.params import NarrationOptions

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started, cpu = time.perf_counter(), time.process_time()
    script, _ = load_script(path)
    read, read_cpu = time.perf_counter() - started, time.process_time() - cpu
    the_plan, _, _ = plan_script(script, NarrationOptions())
    planned, plan_cpu = time.perf_counter() - started - read, time.process_time() - cpu - read_cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"read_s": read, "plan_s": planned, "read_cpu_s": read_cpu, "plan_cpu_s": plan_cpu,
            "chapters": len(the_plan.chapters), "chunks": len(the_plan.chunks),
            "words": sum(c.words for c in the_plan.chapters), "rss_before_mb": before / 1024,
            "rss_peak_mb": peak / 1024}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chapters", type=int, default=1000)
    parser.add_argument("--megabytes", type=float, default=50.0, help="text (XHTML) in the book, in megabytes")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    with tempfile.TemporaryDirectory(prefix="cbx-book-bench-") as work:
        path = Path(work) / "bench.epub"
        text_bytes = write_book(path, args.chapters, args.megabytes)
        done = subprocess.run([sys.executable, __file__, "--measure", str(path)], capture_output=True, text=True,
                              check=True)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        size = path.stat().st_size
    mb = text_bytes / 1e6
    total = result["read_s"] + result["plan_s"]
    out = io.StringIO()
    out.write(f"book: {result['chapters']} chapters, {mb:.1f} MB of XHTML ({size / 1e6:.1f} MB as EPUB), "
              f"{result['words']:,} words, {result['chunks']:,} chunks\n")
    for stage in ("read", "plan"):
        wall, cpu = result[f"{stage}_s"], result[f"{stage}_cpu_s"]
        out.write(f"{stage}: {wall:.1f} s ({wall / mb:.2f} s/MB; {cpu / mb:.2f} s/MB of CPU time)\n")
    cpu = result["read_cpu_s"] + result["plan_cpu_s"]
    out.write(f"total: {total:.1f} s, {total / mb:.2f} s/MB ({cpu / mb:.2f} s/MB of CPU time; one core)\n")
    grew = result["rss_peak_mb"] - result["rss_before_mb"]
    out.write(f"peak memory: {result['rss_peak_mb']:.0f} MB resident ({grew:.0f} MB above the "
              f"{result['rss_before_mb']:.0f} MB before reading)\n")
    sys.stdout.write(out.getvalue())


if __name__ == "__main__":
    main()
