"""Bad input: one line on stderr, a non-zero exit code, no traceback, nothing at the output path."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from clirun import run

def one_error_line(result, expected: str, code: int):
    assert result.exit_code == code, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [f"cbx: error: {expected}"]
    assert "Traceback" not in result.output


@pytest.fixture
def out(tmp_path) -> Path:
    return tmp_path / "out.wav"


def test_empty_text(out):
    r = run(["say", "   ", "-o", str(out)])
    one_error_line(r, "There is no text to speak: the input is empty or has only markup. Give some words.", 2)
    assert not out.exists()


def test_empty_stdin(out):
    r = run(["say", "-", "-o", str(out)], input="\n\n  \n")
    one_error_line(r, "There is no text to speak: the input is empty or has only markup. Give some words.", 2)


def test_non_utf8_stdin(out):
    r = run(["say", "-", "-o", str(out)], input=b"caf\xe9 au lait")
    one_error_line(
        r, "Standard input is not UTF-8 text (bad byte at offset 3). Convert it with iconv -t UTF-8.", 2
    )


def test_missing_script(tmp_path, out):
    missing = tmp_path / "nope.md"
    r = run(["book", str(missing), "-o", str(out)])
    one_error_line(r, f"Script '{missing}' does not exist. Check the path.", 2)
    assert not out.exists()


def test_non_utf8_script(tmp_path, out):
    script = tmp_path / "latin1.md"
    script.write_bytes("# Caf\xe9\n".encode("latin-1"))
    r = run(["book", str(script), "-o", str(out)])
    one_error_line(
        r, f"Script '{script}' is not UTF-8 text (bad byte at offset 5). Convert it with: iconv -t UTF-8 {script}", 2
    )


def test_script_with_only_code(tmp_path, out):
    script = tmp_path / "code.md"
    script.write_text("```\nprint('hi')\n```\n<!-- note -->\n")
    r = run(["book", str(script), "-o", str(out)])
    one_error_line(r, "There is no text to speak: the input is empty or has only markup. Give some words.", 2)


def test_unreadable_script(tmp_path, out):
    r = run(["book", str(tmp_path), "-o", str(out)])
    one_error_line(r, f"Script '{tmp_path}' is a folder. Pass a .md or .txt file.", 2)


def test_unknown_preset(out):
    r = run(["say", "Hello.", "-o", str(out), "--preset", "audibook"])
    one_error_line(r, "Unknown preset 'audibook'. Known: agent, audiobook, game, meme, narration.", 2)


@pytest.mark.parametrize(
    "flag,value,expected",
    [
        ("--exaggeration", "2.5", "--exaggeration 2.5 is out of range; use a value from 0.0 to 2.0."),
        ("--temperature", "0", "--temperature 0.0 is out of range; use a value from 0.05 to 2.0."),
        ("--cfg-weight", "-1", "--cfg-weight -1.0 is out of range; use a value from 0.0 to 2.0."),
        ("--min-p", "1.5", "--min-p 1.5 is out of range; use a value from 0.0 to 1.0."),
        ("--top-p", "2", "--top-p 2.0 is out of range; use a value from 0.0 to 1.0."),
        ("--top-k", "0", "--top-k 0 is out of range; use a value from 1 to 10000."),
        ("--repetition-penalty", "3", "--repetition-penalty 3.0 is out of range; use a value from 1.0 to 2.0."),
        ("--max-tokens", "5000", "--max-tokens 5000 is out of range; use a value from 1 to 1000."),
    ],
)
def test_out_of_range_flags(out, flag, value, expected):
    r = run(["say", "Hello.", "-o", str(out), flag, value])
    one_error_line(r, expected, 2)


def test_not_a_number(out):
    r = run(["say", "Hello.", "-o", str(out), "--temperature", "warm"])
    assert r.exit_code == 2
    assert r.stderr.count("\n") == 1
    assert r.stderr.startswith("cbx: error: Invalid value for '--temperature'")


def test_missing_output_folder(tmp_path):
    target = tmp_path / "no" / "such" / "out.wav"
    r = run(["say", "Hello.", "-o", str(target)])
    one_error_line(r, f"Output folder '{target.parent}' does not exist. Create it first (mkdir -p {target.parent}).", 2)


def test_unknown_extension(tmp_path):
    r = run(["say", "Hello.", "-o", str(tmp_path / "out.aiff")])
    one_error_line(r, "Unknown output extension '.aiff'. Use one of .flac, .m4a, .m4b, .mp3, .ogg, .opus, .wav, or pass --format.", 2)


def test_unknown_format(out):
    r = run(["say", "Hello.", "-o", str(out), "--format", "wma"])
    one_error_line(r, "Unknown --format 'wma'. Use one of: flac, m4a, m4b, mp3, ogg, opus, wav.", 2)


def test_missing_voice(tmp_path, out):
    voice = tmp_path / "me.wav"
    r = run(["say", "Hello.", "-o", str(out), "--voice", str(voice)])
    one_error_line(r, f"Voice file '{voice}' does not exist. Pass a WAV/FLAC/MP3 recording with --voice.", 2)


def test_voice_not_audio(tmp_path, out):
    voice = tmp_path / "me.wav"
    voice.write_text("not audio at all")
    r = run(["say", "Hello.", "-o", str(out), "--voice", str(voice)])
    one_error_line(r, f"Voice file '{voice}' is not readable audio. Use a WAV, FLAC, OGG or MP3 recording.", 2)


def test_voice_silent(tmp_path, out):
    voice = tmp_path / "quiet.wav"
    sf.write(voice, np.zeros(24000 * 6, np.float32), 24000)
    r = run(["say", "Hello.", "-o", str(out), "--voice", str(voice)])
    one_error_line(r, f"Voice file '{voice}' is silent. Record or choose a clip with speech in it.", 2)


def test_voice_too_short(tmp_path, out):
    voice = tmp_path / "short.wav"
    sf.write(voice, 0.3 * np.sin(np.arange(12000) / 10).astype(np.float32), 24000)
    r = run(["say", "Hello.", "-o", str(out), "--voice", str(voice)])
    one_error_line(
        r,
        f"Voice file '{voice}' is 0.5 s long; the original model needs at least 1 s of clean speech "
        "(5 to 15 s works best).",
        2,
    )


def test_multilingual_needs_language(out):
    r = run(["say", "Hola.", "-o", str(out), "--model", "multilingual"])
    assert r.exit_code == 2 and r.stderr.startswith("cbx: error: --model multilingual needs --language CODE")


def test_unknown_language(out):
    r = run(["say", "Hola.", "-o", str(out), "--model", "multilingual", "--language", "xx"])
    assert r.exit_code == 2 and r.stderr.startswith("cbx: error: Unknown --language 'xx'. Use one of: ar, da, de")


def test_missing_output_option():
    r = run(["say", "Hello."])
    one_error_line(r, "Missing option '-o' / '--output'. Try 'cbx say --help'.", 2)


def test_model_dir_not_a_checkpoint(tmp_path, out):
    r = run(["say", "Hello.", "-o", str(out), "--model-dir", str(tmp_path), "--device", "cpu"])
    one_error_line(
        r,
        f"--model-dir '{tmp_path}' is not a Chatterbox original checkpoint: missing ve.safetensors, "
        "t3_cfg.safetensors, s3gen.safetensors, tokenizer.json. Check --model matches the folder.",
        4,
    )
    assert not out.exists()


def test_no_weights_reachable(out, monkeypatch):
    monkeypatch.delenv("CBX_MODEL_DIR", raising=False)
    r = run(["say", "Hello.", "-o", str(out), "--device", "cpu"])
    one_error_line(
        r,
        "Chatterbox original weights are not in the Hugging Face cache and the hub cannot be reached. "
        "Connect once to download ResembleAI/chatterbox, or pass --model-dir DIR (or set CBX_MODEL_DIR) "
        "with a checkpoint folder.",
        4,
    )
    assert not out.exists()


def test_debug_shows_traceback(out):
    r = run(["say", "Hello.", "-o", str(out), "--preset", "nope", "--debug"])
    assert r.exit_code != 0
    assert type(r.exception).__name__ == "PresetError"


def test_version():
    r = run(["--version"])
    assert r.exit_code == 0 and r.stdout.startswith("cbx ")
