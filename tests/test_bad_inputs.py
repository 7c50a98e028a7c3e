"""Every bad input answered: one line on stderr, the right exit code, no traceback, no file left behind.

One table of cases across text, files, flags, presets, voices, URLs, output paths, a full disk and
interruption. Cases that need a model use the tiny random checkpoint (marked `engine`).
"""

from __future__ import annotations

import errno
import http.server
import threading
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
    Case("script-is-folder", ["book", "{tmp}", *OUT], "Script '{tmp}' is a folder. Pass a .md or .txt file."),
    Case("script-not-utf8", ["book", "{tmp}/l1.md", *OUT],
         "Script '{tmp}/l1.md' is not UTF-8 text (bad byte at offset 5). Convert it with: iconv -t UTF-8 {tmp}/l1.md",
         setup=write("l1.md", "# Caf\xe9".encode("latin-1"))),
    Case("script-wrong-type", ["book", "{tmp}/c.docx", *OUT],
         "Script '{tmp}/c.docx' is not a .md or .txt file. Rename it or pipe it in with '-'.",
         setup=write("c.docx", "Hello.")),
    Case("script-only-markup", ["book", "{tmp}/code.md", *OUT], NO_TEXT,
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
    Case("missing-output", ["say", "Hello."], "Missing option '-o' / '--output'. Try 'cbx say --help'."),
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
         "Unknown output extension '.aiff'. Use one of .flac, .m4a, .m4b, .mp3, .ogg, .opus, .wav, or pass --format."),
    Case("no-extension", ["say", "Hi.", "-o", "{tmp}/out"], "Output '{tmp}/out' has no extension. …"),
    Case("unknown-format", [*SAY, "--format", "wma"],
         "Unknown --format 'wma'. Use one of: flac, m4a, m4b, mp3, ogg, opus, wav."),
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
         "Chatterbox original weights are not in the Hugging Face cache and the hub cannot be reached. Connect once "
         "to download ResembleAI/chatterbox, or pass --model-dir DIR (or set CBX_MODEL_DIR) with a checkpoint folder.",
         code=4),
    Case("device-cuda-missing", [*SAY, "--device", "cuda", "--model-dir", "{tmp}"],
         "--device cuda: torch sees no CUDA GPU. Use --device auto or --device cpu.", code=4),
]


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the stdlib's name
        if self.path == "/page.wav":
            body = b"<html>not audio</html>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_error(404, "Not Found")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_there_are_at_least_forty_cases():
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path, url, isolated_env):
    tmp_path = tmp_path / "work"  # the case's own folder; user folders live beside it
    tmp_path.mkdir()

    def fill(s: str) -> str:
        return s.replace("{tmp}", str(tmp_path)).replace("{url}", url).replace("{cfg}", str(isolated_env.config))

    if case.setup:
        case.setup(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    r = run([fill(a) for a in case.args], input=case.input)
    assert r.exit_code == case.code, r.output
    assert "Traceback" not in r.output
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    expected = "cbx: error: " + fill(case.message)
    if expected.endswith("…"):
        assert lines[0].startswith(expected[:-1].rstrip()), lines[0]
    else:
        assert lines[0] == expected
    assert r.stdout_bytes == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written, no temp files left


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
    from cbx_cli.engine.batched import BatchedChatterboxEngine
    from cbx_cli.render.cache import TakeCache

    real = BatchedChatterboxEngine.synthesize
    calls = []

    def interrupted(self, chunks):
        calls.append(len(chunks))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, chunks)

    monkeypatch.setattr(BatchedChatterboxEngine, "synthesize", interrupted)
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
