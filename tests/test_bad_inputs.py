"""Every bad input answered: one line on stderr, the right exit code, no traceback, no file left behind.

One table of cases across text, files, flags, presets, voices, URLs, output paths, a full disk and
interruption. Cases that need a model use the tiny random checkpoint (marked `engine`).
"""

from __future__ import annotations

import errno
import hashlib
import http.server
import io
import json
import os
import shutil
import socket
import stat
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from cbx_cli.config import paths
from clirun import run

SR = 24000


@dataclass
class Case:
    id: str
    args: list[str]
    message: str
    """The whole expected line after 'cbx: error: ' ({tmp} and {url} are filled in); a prefix if it ends with '…'."""
    code: int = 2
    input: str | bytes | None = None
    setup: object = None
    engine: bool = False
    marks: list = field(default_factory=list)
    patch: dict = field(default_factory=dict)
    """``module.attribute: value`` to set for the case (a shorter download time limit)."""


def tone_file(path: Path, seconds: float = 6.0, amp: float = 0.3) -> Path:
    t = np.arange(int(seconds * SR)) / SR
    sf.write(path, (amp * np.sin(2 * np.pi * 180 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))).astype(np.float32),
             SR)
    return path


def write(name: str, content: str | bytes):
    def setup(tmp: Path):
        p = tmp / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content.encode() if isinstance(content, str) else content)
    return setup


def user_preset(name: str, text: str):
    def setup(tmp: Path):
        folder = paths.user_presets_dir()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.yaml").write_text(text)
    return setup


def user_config(text: str):
    def setup(tmp: Path):
        paths.user_config_file().parent.mkdir(parents=True, exist_ok=True)
        paths.user_config_file().write_text(text)
    return setup


def setups(*steps):
    def setup(tmp: Path):
        for step in steps:
            step(tmp)
    return setup


def voice(name: str, seconds: float = 6.0):
    return lambda tmp: tone_file(tmp / name, seconds)


def float_voice(name: str, bad: float):
    """A float WAV voice with one sample ``bad`` (NaN, infinite, or far outside -1..1)."""
    def setup(tmp: Path):
        t = np.arange(SR * 6) / SR
        audio = (0.3 * np.sin(2 * np.pi * 180 * t)).astype(np.float32)
        audio[SR] = bad
        sf.write(tmp / name, audio, SR, subtype="FLOAT")
    return setup


def fifo(name: str):
    return lambda tmp: os.mkfifo(tmp / name)


def unix_socket(name: str):
    def setup(tmp: Path):
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(str(tmp / name))
    return setup


def symlink(name: str, target: str):
    return lambda tmp: (tmp / name).symlink_to(tmp / target)


def hardlink(name: str, target: str):
    return lambda tmp: os.link(tmp / target, tmp / name)


def png(name: str):
    return write(name, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00")


def library_voice(name: str):
    def setup(tmp: Path):
        from cbx_cli.voices.library import add_voice

        add_voice(name, str(tone_file(tmp.parent / f"{name}-source.wav")), "original")
    return setup


def in_cache(relative: str, folder: bool = True):
    """Something at a place in the default take cache (XDG cache/cbx/takes)."""
    def setup(tmp: Path):
        path = paths.cache_dir() / "takes" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir() if folder else path.write_text("not a take")
    return setup


def checkpoint_folder(tmp: Path):
    (tmp / "ckpt").mkdir()
    for name in ("ve.safetensors", "t3_cfg.safetensors", "s3gen.safetensors", "tokenizer.json"):
        (tmp / "ckpt" / name).write_bytes(b"weights")


# -- helpers for reads that must be bounded, files read back, and outputs of every command ---------------------------

def sparse(name: str, size: int = 300_000_000):
    """A file of ``size`` bytes that takes no disk space (a hole): refused by its size before a byte is read."""
    def setup(tmp: Path):
        with open(tmp / name, "wb") as fh:
            fh.truncate(size)
    return setup


def link_to(name: str, target: str):
    """A symbolic link ``name`` to the absolute path ``target`` (/dev/zero, /dev/urandom ...)."""
    return lambda tmp: (tmp / name).symlink_to(target)


def long_flac(name: str, minutes: float = 60.0, known_length: bool = True):
    """A silent FLAC of ``minutes`` (an hour is 90 kB); without ``known_length`` its header says nothing of its
    length (a stream), so only the samples as they are decoded can bound it."""
    def setup(tmp: Path):
        path = tmp / name
        with sf.SoundFile(path, "w", 8000, 1, subtype="PCM_16", format="FLAC") as fh:
            minute = np.zeros(8000 * 60, np.int16)
            for _ in range(int(minutes)):
                fh.write(minute)
        if not known_length:  # STREAMINFO's 36-bit total sample count, at bytes 18-25 with rate, channels, bits
            data = bytearray(path.read_bytes())
            fields = int.from_bytes(data[18:26], "big") & ~((1 << 36) - 1)
            data[18:26] = fields.to_bytes(8, "big")
            path.write_bytes(bytes(data))
    return setup


def json_file(name: str, data):
    """``name`` holding ``data`` as JSON (a str is written as it is); ``{tmp}`` in it is the case's folder."""
    def setup(tmp: Path):
        text = data if isinstance(data, str) else json.dumps(data)
        (tmp / name).write_text(text.replace("{tmp}", str(tmp)))
    return setup


def manifest_with(**fields):
    """A manifest of one chunk, with ``fields`` replacing the chunk's (``header`` replaces the header's)."""
    header = fields.pop("header", {})
    chunk = {"text": "Hello there.", "seed": 42, "start": 0.0, "end": 1.2, "chapter": 0, **fields}
    return json_file("m.json", {"model": "original", **header, "chunks": [chunk]})


PICK_KEY = "0123456789abcdef0123-1"


def retakes(data, script: str = "s.md"):
    """A script and the retake file beside it holding ``data``."""
    return setups(write(script, HELLO_MD), json_file(f"{script}.retakes.json", data))


def pick(seed) -> dict:
    return {"version": 1, "chunks": {PICK_KEY: {"seed": seed, "retake": 1}}}


def voice_record(name: str, record: dict | str):
    """A library voice ``name`` whose voice.json is ``record`` (a dict merged over a good one, or raw text)."""
    def setup(tmp: Path):
        folder = paths.data_dir() / "voices" / name
        folder.mkdir(parents=True)
        tone_file(folder / "reference.wav")
        good = {"name": name, "source": "/somewhere/a.wav", "seconds": 6.0, "added": "2025-01-01T00:00:00+00:00",
                "reference": "reference.wav"}
        (folder / "voice.json").write_text(record if isinstance(record, str) else json.dumps({**good, **record}))
    return setup


def checkpoint_with(name: str, content: str):
    """A checkpoint folder (as `checkpoint_folder`) whose file ``name`` holds ``content``."""
    def setup(tmp: Path):
        checkpoint_folder(tmp)
        (tmp / "ckpt" / name).write_text(content)
    return setup


def in_cache_link(relative: str, target: str):
    """A symbolic link at a place in the default take cache."""
    def setup(tmp: Path):
        path = paths.cache_dir() / "takes" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target if target.startswith("/") else tmp / target)
    return setup


def float_wav(name: str, bad: float):
    """A float WAV (6 s of tone) with one sample ``bad``: for `cbx check`."""
    return float_voice(name, bad)


BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b]\n"
DEEP_YAML = "[" * 5000 + "]" * 5000 + "\n"
ENTRY = "ab" + "0" * 62 + ".take"


OUT = ["-o", "{tmp}/out.wav"]
SAY = ["say", "Hello there.", *OUT]
NO_TEXT = "There is no text to speak: the input is empty or has only markup. Give some words."
RANGE = "is out of range; use a value from"

CASES = [
    # text and scripts
    Case("empty-text", ["say", "", *OUT], NO_TEXT),
    Case("whitespace-text", ["say", " \n\t ", *OUT], NO_TEXT),
    Case("empty-stdin", ["say", "-", *OUT], NO_TEXT, input="\n \n"),
    Case("stdin-not-utf8", ["say", "-", *OUT],
         "Standard input is not UTF-8 text (bad byte at offset 3). Convert it with iconv -t UTF-8.", input=b"caf\xe9"),
    Case("book-stdin-not-utf8", ["book", "-", *OUT],
         "Standard input is not UTF-8 text (bad byte at offset 0). Convert it with iconv -t UTF-8.", input=b"\xff\xfe"),
    Case("missing-script", ["book", "{tmp}/nope.md", *OUT], "Script '{tmp}/nope.md' does not exist. Check the path."),
    Case("script-is-folder", ["book", "{tmp}", *OUT],
         "Script '{tmp}' is a folder. Pass a .md, .txt, .epub, .docx, .html or .pdf file."),
    Case("script-not-utf8", ["book", "{tmp}/l1.md", *OUT],
         "Script '{tmp}/l1.md' is not UTF-8 text (bad byte at offset 5). Convert it with: iconv -t UTF-8 {tmp}/l1.md",
         setup=write("l1.md", "# Caf\xe9".encode("latin-1"))),
    Case("script-wrong-type", ["book", "{tmp}/c.rtf", *OUT],
         "Script '{tmp}/c.rtf' is not a .md, .txt, .epub, .docx, .html or .pdf file. Rename it or pipe it in with '-'.",
         setup=write("c.rtf", "Hello.")),
    Case("book-not-its-type", ["book", "{tmp}/c.docx", *OUT],
         "Script '{tmp}/c.docx' is not the .docx file its name says: its content is not one. Check the file.",
         setup=write("c.docx", "Hello.")),
    Case("book-old-word", ["book", "{tmp}/old.doc", *OUT],
         "Script '{tmp}/old.doc' is an old Word (.doc) or other Office file. Save it as .docx (or .epub) and narrate "
         "that.", setup=write("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))),
    Case("book-word-password", ["book", "{tmp}/locked.docx", *OUT],
         "Script '{tmp}/locked.docx' is a Word file protected by a password: cbx reads only unprotected files. Save a "
         "copy without the password.",
         setup=write("locked.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "EncryptedPackage".encode("utf-16-le"))),
    Case("book-kindle", ["book", "{tmp}/k.azw3", *OUT],
         "Script '{tmp}/k.azw3' is a Kindle (MOBI/AZW) book. Convert it to EPUB (Calibre does) and narrate that.",
         setup=write("k.azw3", bytes(60) + b"BOOKMOBI" + bytes(100))),
    Case("book-broken-zip", ["book", "{tmp}/b.epub", *OUT],
         "Script '{tmp}/b.epub' is a broken zip archive (an EPUB or Word file?). Export it again.",
         setup=write("b.epub", b"PK\x03\x04" + bytes(40))),
    Case("script-only-markup", ["book", "{tmp}/code.md", *OUT],
         "Script 'code.md' has no text to speak: it is empty or has only markup. Give it some words.",
         setup=write("code.md", "```\nprint(1)\n```\n<!-- note -->\n")),
    Case("unknown-directive", ["book", "{tmp}/d.md", *OUT],
         "d.md:3: unknown directive 'voise' in <!-- cbx: ... -->. Known: exaggeration, model, preset, seed, voice.",
         setup=write("d.md", "# One\n\n<!-- cbx: voise=hero -->\nHello there.\n")),
    Case("unknown-directive-voice", ["book", "{tmp}/v.md", *OUT],
         "v.md:1: unknown voice 'hero'. Add it with: cbx voices add hero FILE",
         setup=write("v.md", "<!-- cbx: voice=hero -->\n# One\n\nHello there.\n")),
    Case("bad-pause", ["book", "{tmp}/p.md", *OUT], "p.md:1: …", setup=write("p.md", "Wait [pause forever] now.\n")),
    # presets and config
    Case("unknown-preset", [*SAY, "--preset", "audibook"],
         "Unknown preset 'audibook'. Known: agent, audiobook, game, meme, narration."),
    Case("preset-typo-field", [*SAY, "--preset", "typo"],
         "{cfg}/cbx/presets/typo.yaml: unknown field 'synthesis.temprature'. Remove it or check its spelling.",
         setup=user_preset("typo", "synthesis:\n  temprature: 0.2\n")),
    Case("preset-out-of-range", [*SAY, "--preset", "hot"],
         "{cfg}/cbx/presets/hot.yaml: synthesis.exaggeration = 3.5 is out of range; allowed 0.0 to 2.0.",
         setup=user_preset("hot", "synthesis:\n  exaggeration: 3.5\n")),
    Case("preset-bad-yaml", [*SAY, "--preset", "broken"],
         "{cfg}/cbx/presets/broken.yaml: line 2 is not valid YAML. Fix the syntax and run again.",
         setup=user_preset("broken", "synthesis: [unclosed\n")),
    Case("config-bad-field", SAY,
         "{cfg}/cbx/config.yaml: unknown field 'colour'. Remove it or check its spelling.",
         setup=user_config("colour: blue\n")),
    Case("presets-show-unknown", ["presets", "show", "nope"],
         "Unknown preset 'nope'. Known: agent, audiobook, game, meme, narration."),
    # flags
    Case("exaggeration", [*SAY, "--exaggeration", "2.5"], f"--exaggeration 2.5 {RANGE} 0.0 to 2.0."),
    Case("temperature", [*SAY, "--temperature", "0"], f"--temperature 0.0 {RANGE} 0.05 to 2.0."),
    Case("cfg-weight", [*SAY, "--cfg-weight", "-1"], f"--cfg-weight -1.0 {RANGE} 0.0 to 2.0."),
    Case("min-p", [*SAY, "--min-p", "1.5"], f"--min-p 1.5 {RANGE} 0.0 to 1.0."),
    Case("top-p", [*SAY, "--top-p", "2"], f"--top-p 2.0 {RANGE} 0.0 to 1.0."),
    Case("top-k", [*SAY, "--top-k", "0"], f"--top-k 0 {RANGE} 1 to 10000."),
    Case("repetition-penalty", [*SAY, "--repetition-penalty", "3"], f"--repetition-penalty 3.0 {RANGE} 1.0 to 2.0."),
    Case("max-tokens", [*SAY, "--max-tokens", "5000"], f"--max-tokens 5000 {RANGE} 1 to 1000."),
    Case("seed-negative", [*SAY, "--seed", "-1"], "--seed -1 is out of range; use a value from 0 to 9223372036854775807."),
    Case("not-a-number", [*SAY, "--temperature", "warm"], "Invalid value for '--temperature': …"),
    Case("speed", [*SAY, "--speed", "3"], "--speed 3.0 is out of range; use 0.5 to 2.0."),
    Case("volume", [*SAY, "--volume", "40"], "--volume 40.0 is out of range; use -20 to 20 dB."),
    Case("retries", [*SAY, "--retries", "11"], "--retries 11 is out of range; use 0 to 10."),
    Case("sample-rate", [*SAY, "--sample-rate", "100"], "--sample-rate 100 is out of range; use 8000 to 192000 Hz."),
    Case("batch-size", [*SAY, "--batch-size", "0"], "--batch-size must be at least 1."),
    Case("unknown-model", [*SAY, "--model", "large"], "Invalid value for '--model': …"),
    Case("multilingual-no-language", [*SAY, "--model", "multilingual"], "--model multilingual needs --language CODE, …"),
    Case("unknown-language", [*SAY, "--model", "multilingual", "--language", "xx"], "Unknown --language 'xx'. …"),
    Case("language-wrong-model", [*SAY, "--language", "fr"], "--language applies only to --model multilingual."),
    Case("missing-output", ["book", "{tmp}/b.md"], "Missing option '-o' / '--output'. Try 'cbx book --help'."),
    Case("say-manifest-without-output", ["say", "Hello.", "--manifest", "{tmp}/m.json"],
         "--manifest, --srt, --vtt and --split-chapters describe a file: give -o FILE too."),
    Case("unknown-command", ["speak", "Hello."], "No such command 'speak'. Try 'cbx --help'."),
    Case("unknown-option", [*SAY, "--loud"], "No such option: --loud …"),
    Case("cache-clear-negative", ["cache", "clear", "--older-than", "-1"],
         "--older-than -1.0 is out of range; use a number of days, 0 or more."),
    Case("lexicon-missing", [*SAY, "--lexicon", "{tmp}/lex.yaml"], "{tmp}/lex.yaml: lexicon file not found. Check the path."),
    Case("lexicon-bad-entry", [*SAY, "--lexicon", "{tmp}/lex.yaml"],
         "{tmp}/lex.yaml: entry 'Nguyen' must map to a respelling string.", setup=write("lex.yaml", "Nguyen: [1, 2]\n")),
    # voices and URLs
    Case("voice-missing", [*SAY, "--voice", "{tmp}/me.wav"],
         "Voice file '{tmp}/me.wav' does not exist. Pass a WAV/FLAC/MP3 recording with --voice."),
    Case("voice-not-audio", [*SAY, "--voice", "{tmp}/me.wav"],
         "Voice file '{tmp}/me.wav' is not readable audio. Use a WAV, FLAC, OGG or MP3 recording.",
         setup=write("me.wav", "not audio")),
    Case("voice-silent", [*SAY, "--voice", "{tmp}/q.wav"],
         "Voice file '{tmp}/q.wav' is silent. Record or choose a clip with speech in it.",
         setup=lambda tmp: sf.write(tmp / "q.wav", np.zeros(SR * 6, np.float32), SR)),
    Case("voice-too-short", [*SAY, "--voice", "{tmp}/s.wav"],
         "Voice file '{tmp}/s.wav' is 0.5 s long; the original model needs at least 1 s of clean speech "
         "(5 to 15 s works best).", setup=lambda tmp: tone_file(tmp / "s.wav", 0.5)),
    Case("voice-too-short-turbo", [*SAY, "--voice", "{tmp}/s.wav", "--model", "turbo"],
         "Voice file '{tmp}/s.wav' is 3.0 s long; the turbo model needs at least 5 s of clean speech "
         "(5 to 15 s works best).", setup=lambda tmp: tone_file(tmp / "s.wav", 3.0)),
    Case("unknown-voice-name", [*SAY, "--voice", "hero"],
         "Unknown voice 'hero': not a file and not in your voice library. Add it with: cbx voices add hero FILE"),
    Case("voice-url-404", [*SAY, "--voice", "{url}/missing.wav"],
         "Voice URL '{url}/missing.wav' returned HTTP 404 (Not Found). Check the address, or pass a local file."),
    Case("voice-url-not-audio", [*SAY, "--voice", "{url}/page.wav"],
         "Voice URL '{url}/page.wav' is not readable audio. Use a WAV, FLAC, OGG or MP3 recording."),
    Case("voice-url-unreachable", [*SAY, "--voice", "http://127.0.0.1:9/v.wav"],
         "Cannot download voice from http://127.0.0.1:9/v.wav: …"),
    Case("voices-remove-unknown", ["voices", "remove", "ghost"], "No voices yet. Add one with: cbx voices add NAME FILE"),
    # output paths and formats
    Case("output-folder-missing", ["say", "Hi.", "-o", "{tmp}/no/such/out.wav"],
         "Output folder '{tmp}/no/such' does not exist. Create it first (mkdir -p {tmp}/no/such)."),
    Case("output-is-folder", ["say", "Hi.", "-o", "{tmp}"], "Output '{tmp}' has no extension. …"),
    Case("unknown-extension", ["say", "Hi.", "-o", "{tmp}/out.aiff"],
         "Unknown output extension '.aiff'. Use one of .aac, .flac, .m4a, .m4b, .mp3, .ogg, .opus, .wav, or pass --format."),
    Case("no-extension", ["say", "Hi.", "-o", "{tmp}/out"], "Output '{tmp}/out' has no extension. …"),
    Case("unknown-format", [*SAY, "--format", "wma"],
         "Unknown --format 'wma'. Use one of: aac, flac, m4a, m4b, mp3, ogg, opus, wav."),
    Case("manifest-is-output", [*SAY, "--manifest", "{tmp}/out.wav"],
         "-o and --manifest name the same file ('{tmp}/out.wav'). Give each output its own path."),
    Case("manifest-folder-missing", [*SAY, "--manifest", "{tmp}/x/m.json"],
         "Output folder '{tmp}/x' does not exist. Create it first (mkdir -p {tmp}/x)."),
    Case("cover-on-wav", [*SAY, "--cover", "{tmp}/c.png"], "A cover image cannot be attached to .wav; …"),
    Case("bitrate-on-wav", [*SAY, "--bitrate", "64k"], "--bitrate applies to .mp3, .opus, .m4a and .m4b, not .wav."),
    Case("bad-bitrate", ["say", "Hi.", "-o", "{tmp}/o.m4b", "--bitrate", "7x"],
         "--bitrate '7x' is not a bitrate; use a value such as 64k or 128k."),
    Case("split-to-stdout", ["book", "{tmp}/b.md", "-o", "-", "--split-chapters"],
         "--split-chapters writes files into a folder; give -o FOLDER, not -o -.", setup=write("b.md", "# A\n\nHi.\n")),
    Case("check-missing-file", ["check", "{tmp}/none.wav", "--acx"],
         "Audio file '{tmp}/none.wav' does not exist. Give the path of a file cbx wrote."),
    Case("model-dir-not-checkpoint", [*SAY, "--model-dir", "{tmp}", "--device", "cpu"],
         "--model-dir '{tmp}' is not a Chatterbox original checkpoint: missing ve.safetensors, t3_cfg.safetensors, "
         "s3gen.safetensors, tokenizer.json. Check --model matches the folder.", code=4),
    Case("no-weights-reachable", [*SAY, "--device", "cpu"],
         "Not in the Hugging Face cache, and the hub cannot be reached: Chatterbox original (ResembleAI/chatterbox, "
         "about 3.2 GB). Fetch it with: cbx models pull original (for a machine without the network: add --to DIR on "
         "one that has it, then cbx models pull --from DIR here); or pass --model-dir DIR with a checkpoint folder.",
         code=4),
    Case("device-cuda-missing", [*SAY, "--device", "cuda", "--model-dir", "{tmp}"],
         "--device cuda: torch sees no CUDA GPU. Use --device auto or --device cpu.", code=4),
]

NEVER = "cbx never writes over what it reads."
NOT_REGULAR = "not a regular file: cbx writes whole files and will not replace it. Use -o - to stream the audio to stdout."
CACHE_HINT = "Pass --cache-dir FOLDER, or --no-cache."
SLOW = "Cannot download voice from {url}/slow.wav: it took longer than 1 s. Check the address or your connection, or download it yourself and pass the file."
HELLO_MD = "# One\n\nHello there.\n"

SAFETY_CASES = [
    # an output on an input: every input kind, by path, hard link, symlink, a linked folder, '..'
    Case("manifest-is-script", ["book", "{tmp}/s.txt", "-o", "{tmp}/s2.wav", "--manifest", "{tmp}/s.txt"],
         f"--manifest and the script name the same file ('{{tmp}}/s.txt'): {NEVER} Choose another path for --manifest.",
         setup=write("s.txt", "Hello there.\n")),
    Case("output-is-voice", ["say", "Hi.", "-o", "{tmp}/v.wav", "--voice", "{tmp}/v.wav"],
         f"-o and --voice name the same file ('{{tmp}}/v.wav'): {NEVER} Choose another path for -o.", setup=voice("v.wav")),
    Case("output-is-script-as-wav", ["book", "{tmp}/s.md", "-o", "{tmp}/s.md", "--format", "wav"],
         f"-o and the script name the same file ('{{tmp}}/s.md'): {NEVER} Choose another path for -o.",
         setup=write("s.md", HELLO_MD)),
    Case("srt-is-lexicon", [*SAY, "--lexicon", "{tmp}/lex.yaml", "--srt", "{tmp}/lex.yaml"],
         f"--srt and --lexicon name the same file ('{{tmp}}/lex.yaml'): {NEVER} Choose another path for --srt.",
         setup=write("lex.yaml", "Nguyen: Win\n")),
    Case("vtt-is-cover", ["say", "Hi.", "-o", "{tmp}/o.m4b", "--cover", "{tmp}/c.png", "--vtt", "{tmp}/c.png"],
         f"--vtt and --cover name the same file ('{{tmp}}/c.png'): {NEVER} Choose another path for --vtt.", setup=png("c.png")),
    Case("output-hard-link-to-script", ["book", "{tmp}/s.md", "-o", "{tmp}/same.wav"],
         f"-o and the script name the same file ('{{tmp}}/same.wav'): {NEVER} Choose another path for -o.",
         setup=setups(write("s.md", HELLO_MD), hardlink("same.wav", "s.md"))),
    Case("output-symlink-to-voice", ["say", "Hi.", "-o", "{tmp}/link.wav", "--voice", "{tmp}/v.wav"],
         f"-o and --voice name the same file ('{{tmp}}/link.wav'): {NEVER} Choose another path for -o.",
         setup=setups(voice("v.wav"), symlink("link.wav", "v.wav"))),
    Case("output-through-linked-folder", ["say", "Hi.", "-o", "{tmp}/alias/v.wav", "--voice", "{tmp}/v.wav"],
         f"-o and --voice name the same file ('{{tmp}}/alias/v.wav'): {NEVER} Choose another path for -o.",
         setup=setups(voice("v.wav"), symlink("alias", "."))),
    Case("manifest-is-output-via-dotdot", [*SAY, "--manifest", "{tmp}/sub/../out.wav"],
         "-o and --manifest name the same file ('{tmp}/sub/../out.wav'). Give each output its own path.",
         setup=lambda tmp: (tmp / "sub").mkdir()),
    Case("srt-is-vtt", [*SAY, "--srt", "{tmp}/subs.txt", "--vtt", "{tmp}/subs.txt"],
         "--srt and --vtt name the same file ('{tmp}/subs.txt'). Give each output its own path."),
    Case("manifest-is-user-preset", [*SAY, "--preset", "calm", "--manifest", "{cfg}/cbx/presets/calm.yaml"],
         f"--manifest and your preset file calm.yaml name the same file ('{{cfg}}/cbx/presets/calm.yaml'): {NEVER} "
         "Choose another path for --manifest.", setup=user_preset("calm", "description: Calm.\n")),
    Case("srt-is-user-config", [*SAY, "--srt", "{cfg}/cbx/config.yaml"],
         f"--srt and your config file name the same file ('{{cfg}}/cbx/config.yaml'): {NEVER} Choose another path for "
         "--srt.", setup=user_config("synthesis:\n  temperature: 0.5\n")),
    Case("manifest-is-model-dir-file", [*SAY, "--model-dir", "{tmp}/ckpt", "--manifest", "{tmp}/ckpt/tokenizer.json"],
         f"--manifest and --model-dir name the same file ('{{tmp}}/ckpt/tokenizer.json'): {NEVER} Choose another path "
         "for --manifest.", setup=checkpoint_folder),
    Case("output-is-directive-voice", ["book", "{tmp}/d.md", "-o", "{tmp}/v.wav"],
         f"-o and the voice directive at d.md:1 name the same file ('{{tmp}}/v.wav'): {NEVER} Choose another path for -o.",
         setup=setups(voice("v.wav"), lambda tmp: (tmp / "d.md").write_text(f"<!-- cbx: voice={tmp}/v.wav -->\n{HELLO_MD}"))),
    Case("output-is-library-voice", ["say", "Hi.", "-o", "{data}/cbx/voices/anna/reference.wav", "--voice", "anna"],
         f"-o and --voice name the same file ('{{data}}/cbx/voices/anna/reference.wav'): {NEVER} Choose another path for -o.",
         setup=library_voice("anna")),
    Case("chapter-file-is-voice", ["book", "{tmp}/b.md", "--split-chapters", "-o", "{tmp}", "--voice", "{tmp}/01-one.wav"],
         f"the chapter file 01-one.wav and --voice name the same file ('{{tmp}}/01-one.wav'): {NEVER} Choose another path "
         "for the chapter file 01-one.wav.", setup=setups(write("b.md", HELLO_MD), voice("01-one.wav"))),
    Case("cache-dir-is-output", [*SAY, "--cache-dir", "{tmp}/out.wav"],
         "-o and --cache-dir name the same file ('{tmp}/out.wav'). Give each output its own path."),
    # outputs that are not regular files
    Case("output-fifo", ["say", "Hi.", "-o", "{tmp}/p.wav"], f"-o '{{tmp}}/p.wav' is a FIFO (named pipe), {NOT_REGULAR}",
         setup=fifo("p.wav")),
    Case("manifest-fifo", [*SAY, "--manifest", "{tmp}/m.json"], f"--manifest '{{tmp}}/m.json' is a FIFO (named pipe), {NOT_REGULAR}",
         setup=fifo("m.json")),
    Case("output-dev-null", ["say", "Hi.", "-o", "/dev/null", "--format", "wav"],
         f"-o '/dev/null' is a character device, {NOT_REGULAR}"),
    Case("srt-dev-zero", [*SAY, "--srt", "/dev/zero"], f"--srt '/dev/zero' is a character device, {NOT_REGULAR}"),
    Case("output-socket", ["say", "Hi.", "-o", "{tmp}/s.wav"], f"-o '{{tmp}}/s.wav' is a socket, {NOT_REGULAR}",
         setup=unix_socket("s.wav")),
    Case("output-symlink-to-fifo", ["say", "Hi.", "-o", "{tmp}/l.wav"], f"-o '{{tmp}}/l.wav' is a FIFO (named pipe), {NOT_REGULAR}",
         setup=setups(fifo("p"), symlink("l.wav", "p"))),
    Case("split-chapters-into-fifo", ["book", "{tmp}/b.md", "--split-chapters", "-o", "{tmp}/p"],
         "--split-chapters needs -o to name a folder, and '{tmp}/p' is not a folder.", setup=setups(write("b.md", HELLO_MD), fifo("p"))),
    Case("chapter-file-is-a-folder", ["book", "{tmp}/b.md", "--split-chapters", "-o", "{tmp}/out"],
         f"the chapter file 01-one.wav '{{tmp}}/out/01-one.wav' is a folder, {NOT_REGULAR}",
         setup=setups(write("b.md", HELLO_MD), lambda tmp: (tmp / "out" / "01-one.wav").mkdir(parents=True))),
    Case("split-chapters-dev-stdout", ["book", "{tmp}/b.md", "--split-chapters", "-o", "/dev/stdout"],
         "--split-chapters writes files into a folder; give -o FOLDER, not -o -.", setup=write("b.md", HELLO_MD)),
    # names and folders the file system refuses
    Case("output-name-too-long", ["say", "Hi.", "-o", "{tmp}/" + "a" * 300 + ".wav"],
         "-o name '" + "a" * 47 + "…' is too long: 304 bytes, and this file system allows 255. Choose a shorter name."),
    Case("manifest-name-too-long", [*SAY, "--manifest", "{tmp}/" + "m" * 260 + ".json"],
         "--manifest name '" + "m" * 47 + "…' is too long: 265 bytes, and this file system allows 255. Choose a shorter name."),
    Case("output-folder-name-too-long", ["say", "Hi.", "-o", "{tmp}/" + "d" * 300 + "/o.wav"],
         "-o '{tmp}/dddddddddd…"),
    Case("output-folder-is-a-file", ["say", "Hi.", "-o", "{tmp}/f.txt/out.wav"], "Output folder '{tmp}/f.txt' is not a folder.",
         setup=write("f.txt", "text")),
    # the take cache
    Case("cache-dir-is-a-file", [*SAY, "--cache-dir", "{tmp}/c.txt"], f"Cache folder '{{tmp}}/c.txt' is not a folder. {CACHE_HINT}",
         setup=write("c.txt", "text")),
    Case("cache-dir-inside-a-file", [*SAY, "--cache-dir", "{tmp}/c.txt/takes"],
         f"Cache folder '{{tmp}}/c.txt/takes' cannot be written: Not a directory. {CACHE_HINT}", setup=write("c.txt", "text")),
    Case("cache-dir-is-a-fifo", [*SAY, "--cache-dir", "{tmp}/p"], f"Cache folder '{{tmp}}/p' is not a folder. {CACHE_HINT}",
         setup=fifo("p")),
    Case("default-cache-is-a-file", SAY, f"Cache folder '{{cache}}/cbx/takes' is not a folder. {CACHE_HINT}",
         setup=lambda tmp: (paths.cache_dir().mkdir(parents=True), (paths.cache_dir() / "takes").write_text("x"))),
    Case("cache-folder-at-an-entry", SAY,
         f"Cache folder '{{cache}}/cbx/takes' has a folder at '{{cache}}/cbx/takes/ab/{ENTRY}', where the cache keeps its own "
         "files. Move or remove it (cbx deletes only the takes it wrote), or pass --no-cache.", setup=in_cache(f"ab/{ENTRY}")),
    Case("cache-file-at-an-entry-folder", SAY,
         "Cache folder '{cache}/cbx/takes' has a file at '{cache}/cbx/takes/ab', where the cache keeps its own files. Move or "
         "remove it (cbx deletes only the takes it wrote), or pass --no-cache.", setup=in_cache("ab", folder=False)),
    # voices
    Case("voice-nan", [*SAY, "--voice", "{tmp}/n.wav"],
         "Voice file '{tmp}/n.wav' has samples that are not numbers (NaN or infinite). Export it again, e.g. as 16-bit WAV.",
         setup=float_voice("n.wav", float("nan"))),
    Case("voice-inf", [*SAY, "--voice", "{tmp}/i.wav"],
         "Voice file '{tmp}/i.wav' has samples that are not numbers (NaN or infinite). Export it again, e.g. as 16-bit WAV.",
         setup=float_voice("i.wav", float("-inf"))),
    Case("voice-huge-samples", [*SAY, "--voice", "{tmp}/h.wav"],
         "Voice file '{tmp}/h.wav' has samples far outside the -1 to 1 range (peak 1e+06). Normalize it and export it "
         "again, e.g. as 16-bit WAV.", setup=float_voice("h.wav", 1e6)),
    Case("voice-fifo", [*SAY, "--voice", "{tmp}/p.wav"], "Voice '{tmp}/p.wav' is not a file. Pass an audio recording with --voice.",
         setup=fifo("p.wav")),
    Case("directive-voice-nan", ["book", "{tmp}/d.md", *OUT],
         "Voice file '{tmp}/n.wav' has samples that are not numbers (NaN or infinite). Export it again, e.g. as 16-bit WAV.",
         setup=setups(float_voice("n.wav", float("nan")),
                      lambda tmp: (tmp / "d.md").write_text(f"<!-- cbx: voice={tmp}/n.wav -->\n{HELLO_MD}"))),
    Case("voice-url-trickles", [*SAY, "--voice", "{url}/slow.wav"], SLOW,
         patch={"cbx_cli.voices.fetch.DOWNLOAD_SECONDS": 1.0}),
    Case("voice-url-too-short", [*SAY, "--voice", "{url}/short.wav"],
         "Voice URL '{url}/short.wav' is 0.5 s long; the original model needs at least 1 s of clean speech (5 to 15 s works best)."),
    Case("voice-url-silent", [*SAY, "--voice", "{url}/silent.wav"],
         "Voice URL '{url}/silent.wav' is silent. Record or choose a clip with speech in it."),
    Case("voice-url-nan", [*SAY, "--voice", "{url}/nan.wav"],
         "Voice URL '{url}/nan.wav' has samples that are not numbers (NaN or infinite). Export it again, e.g. as 16-bit WAV."),
    Case("voice-url-empty", [*SAY, "--voice", "{url}/empty.wav"],
         "Voice URL '{url}/empty.wav' is not readable audio: the server sent nothing. Use a WAV, FLAC, OGG or MP3 recording."),
    Case("voice-url-cut-off", [*SAY, "--voice", "{url}/cut.wav"],
         "Cannot download voice from {url}/cut.wav: the server broke off the transfer. Check the address or your "
         "connection, or pass a local file."),
    Case("voice-url-declared-too-large", [*SAY, "--voice", "{url}/huge.wav"],
         "Voice URL '{url}/huge.wav' is larger than 20 MB. Use a short clip: 5 to 15 s of speech is enough."),
    # presets, config and lexicons: bounded YAML, one short line, one broken file breaking only itself
    Case("preset-alias-bomb", [*SAY, "--preset", "bomb"],
         "{cfg}/cbx/presets/bomb.yaml: line 2 uses a YAML alias (*a), which cbx does not expand. Write the value out instead.",
         setup=user_preset("bomb", BOMB)),
    Case("config-alias-bomb", SAY,
         "{cfg}/cbx/config.yaml: line 2 uses a YAML alias (*a), which cbx does not expand. Write the value out instead.",
         setup=user_config(BOMB)),
    Case("lexicon-alias-bomb", [*SAY, "--lexicon", "{tmp}/lex.yaml"],
         "{tmp}/lex.yaml: line 2 uses a YAML alias (*a), which cbx does not expand. Write the value out instead.",
         setup=write("lex.yaml", BOMB)),
    Case("preset-nested-too-deep", [*SAY, "--preset", "deep"],
         "{cfg}/cbx/presets/deep.yaml: line 1 nests deeper than 32 levels. Flatten it.", setup=user_preset("deep", DEEP_YAML)),
    Case("lexicon-nested-too-deep", [*SAY, "--lexicon", "{tmp}/lex.yaml"],
         "{tmp}/lex.yaml: line 1 nests deeper than 32 levels. Flatten it.", setup=write("lex.yaml", DEEP_YAML)),
    Case("preset-huge-value", [*SAY, "--preset", "big"],
         "{cfg}/cbx/presets/big.yaml: synthesis.temperature = '" + "x" * 60 + "'…: Input should be a valid number, unable "
         "to parse string as a number.", setup=user_preset("big", "synthesis:\n  temperature: " + "x" * 200_000 + "\n")),
    Case("preset-huge-field-name", [*SAY, "--preset", "big"],
         "{cfg}/cbx/presets/big.yaml: unknown field 'synthesis." + "y" * 49 + "…'. Remove it or check its spelling.",
         setup=user_preset("big", "synthesis:\n  " + "y" * 1000 + ": 1\n")),
    Case("preset-number-of-thousands-of-digits", [*SAY, "--preset", "num"],
         "{cfg}/cbx/presets/num.yaml: holds a value too large to read (a number of thousands of digits?). Fix the file.",
         setup=user_preset("num", "synthesis:\n  seed: " + "9" * 10_000 + "\n")),
    Case("lexicon-huge-entry", [*SAY, "--lexicon", "{tmp}/lex.yaml"],
         "{tmp}/lex.yaml: entry '" + "z" * 60 + "'… must map to a respelling string.", setup=write("lex.yaml", "z" * 1000 + ": [1]\n")),
    Case("broken-preset-leaves-others", [*SAY, "--preset", "nope"],
         "Unknown preset 'nope'. Known: agent, audiobook, calm, game, meme, narration.",
         setup=setups(user_preset("zz", "synthesis: [unclosed\n"), user_preset("calm", "description: Calm.\n"))),
    Case("broken-preset-shadowing-builtin", [*SAY, "--preset", "audiobook"],
         "{cfg}/cbx/presets/audiobook.yaml: line 2 is not valid YAML. Fix the syntax and run again.",
         setup=user_preset("audiobook", "synthesis: [unclosed\n")),
    Case("preset-is-a-folder", [*SAY, "--preset", "odd"],
         "{cfg}/cbx/presets/odd.yaml: not a regular file. Remove it or replace it with a YAML file.",
         setup=lambda tmp: (paths.user_presets_dir() / "odd.yaml").mkdir(parents=True)),
    Case("preset-is-a-fifo", [*SAY, "--preset", "pipe"],
         "{cfg}/cbx/presets/pipe.yaml: not a regular file. Remove it or replace it with a YAML file.",
         setup=lambda tmp: (paths.user_presets_dir().mkdir(parents=True), os.mkfifo(paths.user_presets_dir() / "pipe.yaml"))),
    Case("config-is-a-fifo", SAY, "{cfg}/cbx/config.yaml: not a regular file. Remove it or replace it with a YAML file.",
         setup=lambda tmp: (paths.config_dir().mkdir(parents=True), os.mkfifo(paths.user_config_file()))),
    Case("lexicon-fifo", [*SAY, "--lexicon", "{tmp}/p.yaml"],
         "{tmp}/p.yaml: lexicon is not a file. Pass a YAML file of 'word: respelling' lines.", setup=fifo("p.yaml")),
    # pauses that add up to more than a script means
    Case("pauses-add-up-to-an-hour", ["say", "Go. [pause 30s] " * 121, *OUT],
         "The script asks for 60.5 min of pauses and about 0.4 min of speech; pauses may add up to 10 min, or to as long "
         "as the speech. Use fewer or shorter [pause] tags or separators."),
    Case("separators-add-up", ["book", "{tmp}/sep.txt", *OUT],
         "The script asks for 12.5 min of pauses and about 1.8 min of speech; pauses may add up to 10 min, or to as long "
         "as the speech. Use fewer or shorter [pause] tags or separators.", setup=write("sep.txt", "Go.\n\n***\n\n" * 500)),
]

FORMATS = "Pass a .md, .txt, .epub, .docx, .html or .pdf file."
FIFO_SCRIPT = f"Script '{{tmp}}/p.md' is a FIFO (named pipe), not a regular file. {FORMATS}"
SPLIT = "Split it into several scripts (cbx batch narrates them in one run)."
NUL = ("has a control character U+0000 (NUL) on line 1, which is not text (the file may be UTF-16: convert it with "
       "iconv -f UTF-16 -t UTF-8). Remove it and run again.")
MANIFEST = "Pass the file --manifest wrote."
RETAKE = "Fix it, or delete it to render every chunk with its planned seed."
RETAKES_JSON = "{tmp}/s.md.retakes.json"
LONG_VOICE = ("is longer than 2 minutes, or holds more than 12,000,000 samples; a voice needs 5 to 15 s of speech. Cut a "
              "short clip from it.")
MOVE = "Move or remove it (cbx deletes only the takes it wrote), or pass --no-cache."
SEED_RANGE = "is out of range; allowed 0 to 9223372036854775807."
KEY = "ab" * 32
BATCH = ["batch", "{tmp}/a.md", "-o", "{tmp}/out"]
RETAKE_CMD = ["retake", "{tmp}/s.md", "-o", "{tmp}/o.wav"]

HARDENING_CASES = [
    # scripts: what is not a regular file, or too large, is refused before it is read; no read blocks
    Case("plan-fifo", ["plan", "{tmp}/p.md"], FIFO_SCRIPT, setup=fifo("p.md")),
    Case("book-fifo", ["book", "{tmp}/p.md", *OUT], FIFO_SCRIPT, setup=fifo("p.md")),
    Case("book-dev-zero", ["book", "/dev/zero", *OUT],
         f"Script '/dev/zero' is a character device, not a regular file. {FORMATS}"),
    Case("plan-link-to-dev-zero", ["plan", "{tmp}/z.md"],
         f"Script '{{tmp}}/z.md' is a character device, not a regular file. {FORMATS}",
         setup=link_to("z.md", "/dev/zero")),
    Case("plan-socket", ["plan", "{tmp}/s.md"], f"Script '{{tmp}}/s.md' is a socket, not a regular file. {FORMATS}",
         setup=unix_socket("s.md")),
    Case("plan-sparse-300mb", ["plan", "{tmp}/big.md"], f"Script '{{tmp}}/big.md' is 300 MB; at most 50 MB is read. {SPLIT}",
         setup=sparse("big.md")),
    Case("book-sparse-300mb-txt", ["book", "{tmp}/big.txt", *OUT], f"Script '{{tmp}}/big.txt' is 300 MB; at most 50 MB is read. {SPLIT}",
         setup=sparse("big.txt")),
    # books too: the file is checked before it is read, and a book has its own, larger bound
    Case("book-epub-fifo", ["book", "{tmp}/p.epub", *OUT],
         f"Script '{{tmp}}/p.epub' is a FIFO (named pipe), not a regular file. {FORMATS}", setup=fifo("p.epub")),
    Case("plan-pdf-link-to-dev-zero", ["plan", "{tmp}/z.pdf"],
         f"Script '{{tmp}}/z.pdf' is a character device, not a regular file. {FORMATS}",
         setup=link_to("z.pdf", "/dev/zero")),
    Case("plan-sparse-600mb-epub", ["plan", "{tmp}/big.epub"],
         "Script '{tmp}/big.epub' is 600 MB; at most 512 MB is read. Split the book into several files.",
         setup=sparse("big.epub", 600_000_000)),
    Case("batch-docx-fifo", ["batch", "{tmp}/p.docx", "-o", "{tmp}/out"],
         f"Script '{{tmp}}/p.docx' is a FIFO (named pipe), not a regular file. {FORMATS}", setup=fifo("p.docx")),
    # text that is not text
    Case("say-stdin-nul", ["say", "-", *OUT], f"The text {NUL}", input=b"Hello\x00there."),
    Case("plan-stdin-nul", ["plan", "-"], f"The text {NUL.replace('line 1', 'line 3')}", input=b"# One\n\nHi\x00.\n"),
    Case("book-utf16-without-bom", ["book", "{tmp}/u.txt", *OUT], f"Script 'u.txt' {NUL}",
         setup=write("u.txt", "Hello there.\n".encode("utf-16-le"))),
    Case("book-escape-character", ["book", "{tmp}/e.md", *OUT],
         "Script 'e.md' has a control character U+001B (ESC) on line 3, which is not text. Remove it and run again.",
         setup=write("e.md", "# One\n\n\x1b[31mRed text.\n")),
    Case("book-html-nul", ["book", "{tmp}/n.html", *OUT],
         "Script 'n.html' has a control character U+0000 (NUL) in the paragraph that begins 'Hello there.', which is "
         "not text. Remove it from the book and run again.",
         setup=write("n.html", b"<!doctype html><html><body><h1>One</h1><p>Hello\x00there.</p></body></html>")),
    Case("plan-stdin-html-escape", ["plan", "-"],
         "Standard input has a control character U+001B (ESC) in the paragraph that begins '[31mRed.', which is not "
         "text. Remove it from the book and run again.",
         input=b"<!doctype html><html><body><h1>One</h1><p>\x1b[31mRed.</p></body></html>"),
    Case("say-byte-0xff", ["say", "caf\udcff au lait", *OUT],
         "The text is not valid UTF-8: a byte 0xFF at character 4. Pass UTF-8 text (convert it with iconv -t UTF-8)."),
    Case("book-empty-names-the-script", ["book", "{tmp}/e.txt", *OUT],
         "Script 'e.txt' has no text to speak: it is empty or has only markup. Give it some words.", setup=write("e.txt", " \n\n ")),
    Case("batch-empty-names-the-script", ["batch", "{tmp}/a.md", "{tmp}/b.md", "-o", "{tmp}/out"],
         "Script 'b.md' has no text to speak: it is empty or has only markup. Give it some words.",
         setup=setups(write("a.md", HELLO_MD), write("b.md", "<!-- just a note -->\n"))),
    Case("batch-script-fifo", ["batch", "{tmp}/p.md", "-o", "{tmp}/out"], FIFO_SCRIPT, setup=fifo("p.md")),
    # manifests given to cbx review: bounded, JSON, and every field checked
    Case("review-manifest-fifo", ["review", "{tmp}/m.json", "-o", "{tmp}/r.html"],
         f"Manifest '{{tmp}}/m.json' is a FIFO (named pipe), not a regular file. {MANIFEST}", setup=fifo("m.json")),
    Case("review-manifest-dev-zero", ["review", "/dev/zero", "-o", "{tmp}/r.html"],
         f"Manifest '/dev/zero' is a character device, not a regular file. {MANIFEST}"),
    Case("review-manifest-sparse", ["review", "{tmp}/m.json", "-o", "{tmp}/r.html"],
         f"Manifest '{{tmp}}/m.json' is 300 MB; at most 100 MB is read. {MANIFEST}", setup=sparse("m.json")),
    Case("review-chapter-is-a-list", ["review", "{tmp}/m.json", "-o", "{tmp}/r.html"],
         f"Manifest '{{tmp}}/m.json': chunks.0.chapter = [1]: Input should be a valid integer. {MANIFEST}",
         setup=manifest_with(chapter=[1])),
    Case("review-warnings-is-a-number", ["review", "{tmp}/m.json", "-o", "{tmp}/r.html"],
         f"Manifest '{{tmp}}/m.json': chunks.0.warnings = 5: Input should be a valid list. {MANIFEST}",
         setup=manifest_with(warnings=5)),
    Case("review-trimmed-1e308", ["review", "{tmp}/m.json", "-o", "{tmp}/r.html"],
         f"Manifest '{{tmp}}/m.json': chunks.0.trimmed = 1e+308: Input should be less than or equal to 3600. {MANIFEST}",
         setup=manifest_with(trimmed=1e308)),
    Case("review-deep-nesting", ["review", "{tmp}/m.json", "-o", "{tmp}/r.html"],
         f"Manifest '{{tmp}}/m.json' cannot be read: it nests too deep. {MANIFEST}",
         setup=json_file("m.json", '{"chunks": ' + "[" * 100_000 + "]" * 100_000 + "}")),
    Case("review-nan", ["review", "{tmp}/m.json", "-o", "{tmp}/r.html"],
         f"Manifest '{{tmp}}/m.json' cannot be read: it holds NaN, which is not a JSON number. {MANIFEST}",
         setup=json_file("m.json", '{"chunks": [{"text": "Hi.", "seed": 1, "start": NaN, "end": 1, "chapter": 0}]}')),
    Case("review-seed-1e400", ["review", "{tmp}/m.json", "-o", "{tmp}/r.html"],
         f"Manifest '{{tmp}}/m.json': chunks.0.seed = inf: Input should be a finite number. {MANIFEST}",
         setup=json_file("m.json", '{"chunks": [{"text": "Hi.", "seed": 1e400, "start": 0, "end": 1, "chapter": 0}]}')),
    Case("review-seed-2-to-the-80", ["review", "{tmp}/m.json", "-o", "{tmp}/r.html"],
         f"Manifest '{{tmp}}/m.json': chunks.0.seed = 1208925819614629174706176 {SEED_RANGE} {MANIFEST}",
         setup=manifest_with(seed=2**80)),
    Case("review-seed-negative", ["review", "{tmp}/m.json", "-o", "{tmp}/r.html"],
         f"Manifest '{{tmp}}/m.json': chunks.0.seed = -5 {SEED_RANGE} {MANIFEST}", setup=manifest_with(seed=-5)),
    Case("review-take-is-a-path", ["review", "{tmp}/m.json", "-o", "{tmp}/r.html"],
         f"Manifest '{{tmp}}/m.json': chunks.0.take = '../../../etc/passwd': String should match pattern '^[0-9a-f]{{64}}$'. {MANIFEST}",
         setup=manifest_with(take="../../../etc/passwd")),
    Case("review-number-of-thousands-of-digits", ["review", "{tmp}/m.json", "-o", "{tmp}/r.html"],
         f"Manifest '{{tmp}}/m.json' cannot be read: it holds a number too long to read. {MANIFEST}",
         setup=json_file("m.json", '{"chunks": [], "x": ' + "9" * 10_000 + "}")),
    Case("review-not-utf8", ["review", "{tmp}/m.json", "-o", "{tmp}/r.html"],
         f"Manifest '{{tmp}}/m.json' cannot be read: it is not UTF-8 text. {MANIFEST}", setup=write("m.json", b'{"chunks": "\xff"}')),
    Case("review-page-is-a-take", ["review", "{tmp}/m.json", "-o", f"{{tmp}}/cache/ab/{KEY}.take"],
         f"-o and the take of chunk 1 name the same file ('{{tmp}}/cache/ab/{KEY}.take'): {NEVER} Choose another path for -o.",
         setup=setups(manifest_with(take=KEY, header={"cache": "{tmp}/cache"}), write(f"cache/ab/{KEY}.take", "a take"))),
    # retake files: bounded, versioned, every seed in range, before any model loads
    Case("retake-file-seed-1e400", ["book", "{tmp}/s.md", *OUT],
         f"Retake file '{RETAKES_JSON}': chunks.{PICK_KEY}.seed = inf: Input should be a finite number. {RETAKE}",
         setup=retakes('{"version": 1, "chunks": {"' + PICK_KEY + '": {"seed": 1e400, "retake": 1}}}')),
    Case("retake-file-seed-2-to-the-80", ["book", "{tmp}/s.md", *OUT],
         f"Retake file '{RETAKES_JSON}': chunks.{PICK_KEY}.seed = 1208925819614629174706176 {SEED_RANGE} {RETAKE}",
         setup=retakes(pick(2**80))),
    Case("retake-file-seed-negative", ["book", "{tmp}/s.md", *OUT],
         f"Retake file '{RETAKES_JSON}': chunks.{PICK_KEY}.seed = -1 {SEED_RANGE} {RETAKE}", setup=retakes(pick(-1))),
    Case("retake-file-seed-not-a-number", RETAKE_CMD + ["--chunk", "1"],
         f"Retake file '{RETAKES_JSON}': chunks.{PICK_KEY}.seed = 'x': Input should be a valid integer, unable to parse string as an integer. {RETAKE}",
         setup=retakes(pick("x"))),
    Case("retake-file-later-version", ["book", "{tmp}/s.md", *OUT],
         f"Retake file '{RETAKES_JSON}': version = 2: Input should be 1. {RETAKE}",
         setup=retakes({"version": 2, "chunks": {}})),
    Case("retake-file-unknown-field", ["book", "{tmp}/s.md", *OUT],
         f"Retake file '{RETAKES_JSON}': unknown field 'note'. Remove it or check its spelling. {RETAKE}",
         setup=retakes({"version": 1, "chunks": {}, "note": "mine"})),
    Case("retake-file-bad-key", ["book", "{tmp}/s.md", *OUT],
         f"Retake file '{RETAKES_JSON}': chunks.chunk-1.[key] = 'chunk-1': String should match pattern "
         "'^[0-9a-f]{20}-[0-9]{1,9}$'. " + RETAKE,
         setup=retakes({"version": 1, "chunks": {"chunk-1": {"seed": 1, "retake": 1}}})),
    Case("retake-file-not-json", ["book", "{tmp}/s.md", *OUT],
         f"Retake file '{RETAKES_JSON}' cannot be read: it is not valid JSON (line 1, column 2). {RETAKE}",
         setup=retakes("{seed: 5")),
    Case("retake-file-fifo", ["book", "{tmp}/s.md", *OUT],
         f"Retake file '{RETAKES_JSON}' is a FIFO (named pipe), not a regular file. {RETAKE}",
         setup=setups(write("s.md", HELLO_MD), fifo("s.md.retakes.json"))),
    Case("retake-file-is-a-folder", RETAKE_CMD + ["--chunk", "1"],
         f"Retake file '{RETAKES_JSON}' is a folder, not a regular file. {RETAKE}",
         setup=setups(write("s.md", HELLO_MD), lambda tmp: (tmp / "s.md.retakes.json").mkdir())),
    Case("retake-chunks-past-the-end", RETAKE_CMD + ["--chunks", "1-99999999999"],
         "Chunk 99999999999 is out of range: the script has 2 chunk(s), numbered from 1 as `cbx plan` shows them.",
         setup=write("s.md", HELLO_MD)),
    Case("retake-chunks-backwards", RETAKE_CMD + ["--chunks", "2-1"],
         "--chunks 2-1 runs backwards; write the lower number first, e.g. 1-2.", setup=write("s.md", HELLO_MD)),
    Case("retake-seed-2-to-the-80", RETAKE_CMD + ["--chunk", "1", "--seed", str(2**80)],
         "--seed 1208925819614629174706176 is out of range; use a value from 0 to 9223372036854775807.",
         setup=write("s.md", HELLO_MD)),
    Case("retake-file-is-a-checkpoint-file", RETAKE_CMD + ["--chunk", "1", "--model-dir", "{tmp}/ckpt"],
         f"the retake file and --model-dir name the same file ('{RETAKES_JSON}'): {NEVER} Choose another path for the "
         "retake file.",
         setup=setups(write("s.md", HELLO_MD), checkpoint_with("tokenizer.json", '{"version": 1, "chunks": {}}'),
                      hardlink("s.md.retakes.json", "ckpt/tokenizer.json"))),
    # directives: seeds in range
    Case("directive-seed-2-to-the-80", ["book", "{tmp}/d.md", *OUT],
         "d.md:1: seed=1208925819614629174706176 in <!-- cbx: ... --> is not a whole number from 0 to 9223372036854775807.",
         setup=write("d.md", "<!-- cbx: seed=1208925819614629174706176 -->\n" + HELLO_MD)),
    Case("directive-seed-thousands-of-digits", ["book", "{tmp}/d.md", *OUT],
         "d.md:1: seed=" + "9" * 29 + "… in <!-- cbx: ... --> is not a whole number from 0 to 9223372036854775807.",
         setup=write("d.md", "<!-- cbx: seed=" + "9" * 5000 + " -->\n" + HELLO_MD)),
    # the take cache: nothing but cbx's own entries where they belong, no link followed
    Case("cache-link-at-an-entry", SAY,
         f"Cache folder '{{cache}}/cbx/takes' has a link at '{{cache}}/cbx/takes/ab/{KEY}.take', where the cache keeps "
         f"its own files. {MOVE}", setup=in_cache_link(f"ab/{KEY}.take", "/dev/zero")),
    Case("cache-linked-entry-folder", SAY,
         f"Cache folder '{{cache}}/cbx/takes' has a link at '{{cache}}/cbx/takes/cd', where the cache keeps its own "
         f"files. {MOVE}", setup=setups(lambda tmp: (tmp / "elsewhere").mkdir(), in_cache_link("cd", "elsewhere"))),
    # cbx batch: the summary and every script's outputs against every input, before anything renders
    Case("batch-lexicon-is-the-summary", [*BATCH, "--lexicon", "{tmp}/out/summary.json"],
         f"summary.json in -o and --lexicon name the same file ('{{tmp}}/out/summary.json'): {NEVER} Choose another "
         "path for summary.json in -o.", setup=setups(write("a.md", HELLO_MD), write("out/summary.json", "Nguyen: Win\n"))),
    Case("batch-summary-is-a-folder", BATCH,
         "-o folder '{tmp}/out' has a folder named summary.json, where cbx batch writes its summary. Move it, or choose "
         "another -o folder.", setup=setups(write("a.md", HELLO_MD), lambda tmp: (tmp / "out" / "summary.json").mkdir(parents=True))),
    Case("batch-summary-is-a-fifo", BATCH,
         "-o folder '{tmp}/out' has a FIFO (named pipe) named summary.json, where cbx batch writes its summary. Move "
         "it, or choose another -o folder.",
         setup=setups(write("a.md", HELLO_MD), lambda tmp: (tmp / "out").mkdir(), fifo("out/summary.json"))),
    Case("batch-output-is-another-scripts-voice", ["batch", "{tmp}/a.md", "{tmp}/b.md", "-o", "{tmp}/out"],
         f"a.wav in -o and the voice directive at b.md:1 name the same file ('{{tmp}}/out/a.wav'): {NEVER} Choose "
         "another path for a.wav in -o.",
         setup=setups(write("a.md", HELLO_MD), lambda tmp: (tmp / "out").mkdir(), voice("out/a.wav"),
                      lambda tmp: (tmp / "b.md").write_text(f"<!-- cbx: voice={tmp}/out/a.wav -->\n{HELLO_MD}"))),
    Case("batch-manifest-is-the-lexicon", [*BATCH, "--manifests", "--lexicon", "{tmp}/out/a.json"],
         f"--manifest and --lexicon name the same file ('{{tmp}}/out/a.json'): {NEVER} Choose another path for --manifest.", setup=setups(write("a.md", HELLO_MD), write("out/a.json", "Nguyen: Win\n"))),
    # voices: bounded by size, then by duration and samples before they are decoded in full
    Case("voice-one-hour-flac", [*SAY, "--voice", "{tmp}/hour.flac"], f"Voice file '{{tmp}}/hour.flac' {LONG_VOICE}",
         setup=long_flac("hour.flac")),
    Case("voice-flac-of-unknown-length", [*SAY, "--voice", "{tmp}/stream.flac"],
         f"Voice file '{{tmp}}/stream.flac' {LONG_VOICE}", setup=long_flac("stream.flac", 5, known_length=False)),
    Case("voice-sparse-300mb", [*SAY, "--voice", "{tmp}/big.wav"],
         "Voice file '{tmp}/big.wav' is 300 MB; at most 100 MB is read. Use a short clip: 5 to 15 s of speech is enough.",
         setup=sparse("big.wav")),
    Case("voice-link-to-dev-zero", [*SAY, "--voice", "{tmp}/z.wav"],
         "Voice '{tmp}/z.wav' is not a file. Pass an audio recording with --voice.", setup=link_to("z.wav", "/dev/zero")),
    Case("directive-voice-one-hour", ["book", "{tmp}/d.md", *OUT], f"Voice file '{{tmp}}/hour.flac' {LONG_VOICE}",
         setup=setups(long_flac("hour.flac"),
                      lambda tmp: (tmp / "d.md").write_text(f"<!-- cbx: voice={tmp}/hour.flac -->\n{HELLO_MD}"))),
    Case("voices-add-one-hour", ["voices", "add", "long", "{tmp}/hour.flac"], f"Voice file '{{tmp}}/hour.flac' {LONG_VOICE}",
         setup=long_flac("hour.flac")),
    Case("library-voice-record-bad-field", [*SAY, "--voice", "anna"],
         "Voice record '{data}/cbx/voices/anna/voice.json': seconds = 'x': Input should be a valid number, unable to "
         "parse string as a number. Remove the voice (cbx voices remove anna) and add it again.",
         setup=voice_record("anna", {"seconds": "x"})),
    Case("library-voice-record-reference-outside", [*SAY, "--voice", "anna"],
         "Voice record '{data}/cbx/voices/anna/voice.json': reference = '../../../../etc/passwd': String should match "
         "pattern '^reference(\\.[A-Za-z0-9]{1,10})?$'. Remove the voice (cbx voices remove anna) and add it again.",
         setup=voice_record("anna", {"reference": "../../../../etc/passwd"})),
    Case("library-voice-record-not-json", [*SAY, "--voice", "anna"],
         "Voice record '{data}/cbx/voices/anna/voice.json' cannot be read: it is not valid JSON (line 1, column 1). "
         "Remove the voice (cbx voices remove anna) and add it again.", setup=voice_record("anna", "not json")),
    # cbx check: a file with samples that are not numbers fails
    Case("check-nan-sample", ["check", "{tmp}/n.wav"],
         "Audio file '{tmp}/n.wav' has 1 sample(s) that are not numbers (NaN or infinite): it is damaged and fails every "
         "check. Export or render it again.", setup=float_wav("n.wav", float("nan"))),
    Case("check-infinite-sample", ["check", "{tmp}/i.wav", "--acx"],
         "Audio file '{tmp}/i.wav' has 1 sample(s) that are not numbers (NaN or infinite): it is damaged and fails every "
         "check. Export or render it again.", setup=float_wav("i.wav", float("inf"))),
    Case("check-fifo", ["check", "{tmp}/p.wav"],
         "Audio file '{tmp}/p.wav' is a FIFO (named pipe), not a regular file. Give the path of a file cbx wrote.",
         setup=fifo("p.wav")),
    # YAML files: regular and bounded before they are read
    Case("lexicon-sparse-300mb", [*SAY, "--lexicon", "{tmp}/lex.yaml"],
         "{tmp}/lex.yaml: it is larger than 20,000,000 characters. Use a smaller file.", setup=sparse("lex.yaml")),
    Case("lexicon-dev-zero", [*SAY, "--lexicon", "/dev/zero"],
         "/dev/zero: lexicon is not a file. Pass a YAML file of 'word: respelling' lines."),
    Case("preset-sparse", [*SAY, "--preset", "big"],
         "{cfg}/cbx/presets/big.yaml: it is larger than 1,000,000 characters. Use a smaller file.",
         setup=lambda tmp: (paths.user_presets_dir().mkdir(parents=True), sparse("big.yaml")(paths.user_presets_dir()))),
    Case("config-link-to-dev-zero", SAY, "{cfg}/cbx/config.yaml: not a regular file. Remove it or replace it with a YAML file.",
         setup=lambda tmp: (paths.config_dir().mkdir(parents=True), paths.user_config_file().symlink_to("/dev/zero"))),
    Case("cover-sparse-300mb", ["say", "Hi.", "-o", "{tmp}/o.m4b", "--cover", "{tmp}/c.png"],
         "Cover image '{tmp}/c.png' is larger than 20 MB. Give a smaller .jpg or .png file (1400 to 3000 pixels square "
         "is what stores ask for).", setup=setups(png("c.png"), lambda tmp: os.truncate(tmp / "c.png", 300_000_000)),
         marks=[pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")]),
    # cbx bench --json: an output like any other
    Case("bench-json-is-a-checkpoint-file", ["bench", "--model-dir", "{tmp}/ckpt", "--json", "{tmp}/ckpt/tokenizer.json"],
         f"--json and --model-dir name the same file ('{{tmp}}/ckpt/tokenizer.json'): {NEVER} Choose another path for "
         "--json.", setup=checkpoint_folder),
    Case("bench-json-fifo", ["bench", "--json", "{tmp}/p.json"], f"--json '{{tmp}}/p.json' is a FIFO (named pipe), {NOT_REGULAR}",
         setup=fifo("p.json")),
]


ALL_CASES = CASES + SAFETY_CASES + HARDENING_CASES


def wav_body(seconds: float, amp: float = 0.3, subtype: str = "PCM_16", bad: float | None = None) -> bytes:
    t = np.arange(int(seconds * SR)) / SR
    audio = (amp * np.sin(2 * np.pi * 180 * t)).astype(np.float32)
    if bad is not None:
        audio[len(audio) // 2] = bad
    buf = io.BytesIO()
    sf.write(buf, audio, SR, format="WAV", subtype=subtype)
    return buf.getvalue()


BODIES = {
    "/page.wav": b"<html>not audio</html>",
    "/short.wav": wav_body(0.5),
    "/silent.wav": wav_body(6.0, amp=0.0),
    "/nan.wav": wav_body(6.0, subtype="FLOAT", bad=float("nan")),
    "/empty.wav": b"",
}


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the stdlib's name
        if self.path in BODIES:
            self.reply(BODIES[self.path])
        elif self.path == "/slow.wav":  # a byte every 0.2 s: every read is quick, the whole never ends
            self.reply(b"", length=100_000)
            for _ in range(50):
                if self.send_bytes(b"R"):
                    break
                time.sleep(0.2)
        elif self.path == "/cut.wav":
            self.reply(wav_body(6.0)[:1000], length=50_000)
        elif self.path == "/huge.wav":
            self.reply(b"", length=30_000_000)
        else:
            self.send_error(404, "Not Found")

    def reply(self, body: bytes, length: int | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "audio/wav")
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.send_bytes(body)

    def send_bytes(self, data: bytes) -> bool:
        """Send ``data``; True when the client has gone."""
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            return True
        return False

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root`` (the test's whole folder: the case's files and the user folders): its content hash,
    or its kind for what cannot be read without blocking (a FIFO, a socket)."""
    found = {}
    for path in sorted(root.rglob("*")):
        if "hf-home" in path.parts:
            continue  # the Hugging Face cache: diffusers notes its version there on import, nothing of cbx's
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            found[str(path)] = "link to " + os.readlink(path)
        elif stat.S_ISREG(mode):
            found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif not stat.S_ISDIR(mode):
            found[str(path)] = f"special {stat.S_IFMT(mode)}"
    return found


def test_there_are_at_least_forty_cases():
    assert len(CASES) >= 40
    assert len(SAFETY_CASES) >= 40
    assert len(HARDENING_CASES) >= 60


@pytest.mark.parametrize("case", [pytest.param(c, marks=c.marks, id=c.id) for c in ALL_CASES])
def test_bad_input(case: Case, tmp_path, url, isolated_env, monkeypatch):
    root = tmp_path
    tmp_path = tmp_path / "work"  # the case's own folder; user folders live beside it
    tmp_path.mkdir()

    def fill(s: str) -> str:
        for key, value in (("{tmp}", tmp_path), ("{url}", url), ("{cfg}", isolated_env.config),
                           ("{data}", isolated_env.data), ("{cache}", isolated_env.cache)):
            s = s.replace(key, str(value))
        return s

    if case.setup:
        case.setup(tmp_path)
    for name, value in case.patch.items():
        monkeypatch.setattr(name, value)
    before = snapshot(root)
    started = time.monotonic()
    r = run([fill(a) for a in case.args], input=case.input)
    assert r.exit_code == case.code, r.output
    assert "Traceback" not in r.output
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    assert len(lines[0]) <= 700
    expected = "cbx: error: " + fill(case.message)
    if expected.endswith("…"):
        assert lines[0].startswith(expected[:-1].rstrip()), lines[0]
    else:
        assert lines[0] == expected
    assert r.stdout_bytes == b""
    assert snapshot(root) == before  # no file written, changed or removed; no temporary file left
    assert time.monotonic() - started < 20


# -- failures that need a model: a full disk and an interruption ---------------------------------


@pytest.mark.engine
def test_full_disk_leaves_nothing(original_ckpt, tmp_path, monkeypatch):
    real = Path.write_bytes

    def full(self, data):
        if self.name.endswith(".part"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    out = tmp_path / "out.wav"
    r = run(["say", "Hello there.", "-o", str(out), "--model-dir", str(original_ckpt), "--device", "cpu",
             "--max-tokens", "8", "--retries", "0", "--quiet", "--cache-dir", str(tmp_path / "cache")])
    assert r.exit_code == 2
    assert r.stderr == f"cbx: error: Cannot write '{out}': No space left on device. Free space or choose another path.\n"
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["cache"]


@pytest.mark.engine
def test_interrupt_keeps_finished_takes(original_ckpt, tmp_path, monkeypatch):
    from cbx_cli.engine.batched import BatchedEngine
    from cbx_cli.render.cache import TakeCache

    real = BatchedEngine.stream

    def interrupted(self, requests):  # Ctrl-C while the second take is being made
        for n, made in enumerate(real(self, requests)):
            yield made
            if n == 0:
                raise KeyboardInterrupt

    monkeypatch.setattr(BatchedEngine, "stream", interrupted)
    out, cache = tmp_path / "out.wav", tmp_path / "cache"
    args = ["say", "One.\n\nTwo.\n\nThree.", "-o", str(out), "--model-dir", str(original_ckpt), "--device", "cpu",
            "--max-tokens", "8", "--retries", "0", "--quiet", "--batch-size", "1", "--cache-dir", str(cache)]
    r = run(args)
    assert r.exit_code == 130
    assert r.stderr == ("cbx: error: interrupted: 1 of 3 takes are saved in the cache; "
                        "run the same command again to resume.\n")
    assert not out.exists()
    assert TakeCache(cache).info().entries == 1
    assert not list(cache.glob("*/.tmp-*"))


def test_debug_lets_the_exception_through(tmp_path):
    r = run(["say", "Hello.", "-o", str(tmp_path / "o.wav"), "--preset", "nope", "--debug"])
    assert r.exit_code != 0
    assert type(r.exception).__name__ == "PresetError"


def test_version():
    r = run(["--version"])
    assert r.exit_code == 0 and r.stdout.startswith("cbx ")


def test_ctrl_c_before_the_render_says_so(tmp_path, monkeypatch):
    def interrupted(opts):
        raise KeyboardInterrupt

    monkeypatch.setattr("cbx_cli.cli.narrate.make_narrator", interrupted)
    r = run(["say", "Hello.", "-o", str(tmp_path / "o.wav")])
    assert (r.exit_code, r.stderr) == (130, "cbx: error: interrupted.\n")
