"""Planning time against input size: `python scripts/bench_plan.py [MB ...]` (default 1 5 20).

For each size it builds, from a fixed seed, prose of that many megabytes in three shapes: one paragraph, the same
prose as paragraphs of about 1,000 characters, and one paragraph without a single full stop (so every chunk is cut
at commas and between words). Each is parsed and planned as `cbx plan` does (plain text, the default preset, no
model), and the seconds (wall clock, and CPU time of this process, which other work on a shared machine does not
inflate) and chunks are printed, with CPU seconds per megabyte: a figure that stays flat as the size grows shows
planning is linear in its input.
"""

from __future__ import annotations

import random
import sys
import time

from cbx_cli import api
from cbx_cli.config.params import NarrationOptions

WORDS = ("the a of and to in was he she it that his her with as for had you not but at on they be this which from "
         "said all were one we when there would been what could into them more time before little only over after "
         "river morning letter garden window journey station evening winter captain doctor harbour village").split()
EXTRAS = ("Dr. Hale", "Mr. Carter", "St. Ives", "e.g.", "i.e.", "3 p.m.", "1847", "$4.50", "12%", "No. 7", "2nd",
          "10:30", "[pause 1s]", "\"Well,\"", "(at last)", "5-10 km", "U.S.", "etc.")


def prose(size: int, seed: int = 7, stops: bool = True) -> str:
    """About ``size`` characters of sentences of 6 to 30 words, one word in twelve a name, number or abbreviation."""
    rng = random.Random(seed)
    parts: list[str] = []
    total = 0
    while total < size:
        words = [rng.choice(EXTRAS) if rng.random() < 1 / 12 else rng.choice(WORDS) for _ in range(rng.randint(6, 30))]
        sentence = " ".join(words).capitalize() + ("." if stops else ",")
        parts.append(sentence)
        total += len(sentence) + 1
    return " ".join(parts)


def paragraphs(text: str, size: int = 1000) -> str:
    """``text`` with a blank line after the first sentence end past every ``size`` characters."""
    out, start = [], 0
    while start < len(text):
        cut = text.find(". ", start + size)
        cut = len(text) if cut < 0 else cut + 1
        out.append(text[start:cut].strip())
        start = cut
    return "\n\n".join(out)


def timed(text: str) -> tuple[float, float, int]:
    """Wall and CPU seconds to parse and plan ``text``, and its chunks."""
    wall, cpu = time.perf_counter(), time.process_time()
    script = api.script_from_text(text)
    the_plan, _, _ = api.plan_script(script, NarrationOptions())
    return time.perf_counter() - wall, time.process_time() - cpu, len(the_plan.chunks)


def main(sizes: list[float]) -> None:
    timed("Warm up: load the sentence and number rules once.")
    print(f"{'input':<34}{'MB':>6}{'wall s':>9}{'CPU s':>9}{'CPU s/MB':>10}{'chunks':>10}")
    for mb in sizes:
        size = int(mb * 1_000_000)
        shapes = {"one paragraph": prose(size), "paragraphs of ~1,000 characters": paragraphs(prose(size)),
                  "one paragraph, no full stops": prose(size, stops=False)}
        for name, text in shapes.items():
            wall, cpu, chunks = timed(text)
            real = len(text.encode("utf-8")) / 1e6
            print(f"{name:<34}{real:>6.1f}{wall:>9.1f}{cpu:>9.1f}{cpu / real:>10.1f}{chunks:>10,}", flush=True)


if __name__ == "__main__":
    main([float(a) for a in sys.argv[1:]] or [1.0, 5.0, 20.0])
