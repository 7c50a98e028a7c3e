"""`--verify` as a user meets it: retakes and trimming in the manifest, presets, strictness, reruns, bad values.

Synthesis is the fake engine (tests/fakes.py) and speech recognition the `scripted_asr` test double, which returns
chosen text; test_verify_asr.py runs the real recognizer.
"""

from __future__ import annotations

import json

from clirun import run

BOOK = "The parcel reached the harbour two days later.\n\nThe crew unloaded it at dawn.\n"
RUN = ["--device", "cpu", "--retries", "2"]


def misses_then_babbles():
    """Chunk 1's first take misses "harbour"; chunk 2's every take babbles after its last word."""
    first_seed: dict[int, int] = {}

    def say(chunk, seconds):
        first = first_seed.setdefault(chunk.index, chunk.seed)
        if chunk.index == 0:
            return chunk.spoken.replace(" harbour", "") if chunk.seed == first else chunk.spoken
        words = chunk.spoken.split()
        step = seconds / 2 / len(words)
        return [(" " + w, i * step, (i + 1) * step) for i, w in enumerate(words)] + [(" uh", seconds / 2 + 0.2,
                                                                                 seconds / 2 + 0.5)]

    return say


def book(tmp_path, *extra):
    script = tmp_path / "book.md"
    script.write_text(BOOK)
    out, manifest = tmp_path / "book.wav", tmp_path / "book.json"
    r = run(["book", script, "-o", out, "--manifest", manifest, *RUN, *extra])
    return r, out, manifest


def test_a_take_missing_a_word_is_retaken_and_a_babbling_tail_is_trimmed(fake_engine, scripted_asr, tmp_path):
    scripted_asr.say = misses_then_babbles()
    r, out, manifest = book(tmp_path, "--verify")
    assert r.exit_code == 0, r.output
    assert "2 of 2 verified, 4 transcribed, 1 trimmed" in r.stderr
    data = json.loads(manifest.read_text())
    assert data["verify"] == {"tolerance": 0.1, "candidates": 1}
    first, second = data["chunks"]
    assert [(a["passed"], a["kept"]) for a in first["attempts"]] == [(False, False), (True, True)]
    assert "harbour" not in first["attempts"][0]["transcript"] and first["attempts"][0]["errors"] == 1
    assert first["seed"] == first["attempts"][1]["seed"] != first["attempts"][0]["seed"]
    assert (first["verified"], first["score"], first["transcript"]) == (True, 1.0, first["attempts"][1]["transcript"])
    assert len(second["attempts"]) == 1 and second["verified"]
    full = second["attempts"][0]["seconds"]
    assert 0.2 < second["trimmed"] < full / 2
    # both stages ran: the larger model heard only the take the small one failed
    assert [len(h) for h in scripted_asr.heard.values()] == [3, 1]


def test_a_rerun_transcribes_nothing_and_writes_the_same_files(fake_engine, scripted_asr, tmp_path):
    scripted_asr.say = misses_then_babbles()
    r, out, manifest = book(tmp_path, "--verify")
    assert r.exit_code == 0, r.output
    audio, data = out.read_bytes(), manifest.read_bytes()
    r, out, manifest = book(tmp_path, "--verify")
    assert r.exit_code == 0, r.output
    assert all(h == [] for h in scripted_asr.heard.values())
    assert "0 transcribed" in r.stderr and "from cache" in r.stderr
    assert out.read_bytes() == audio and manifest.read_bytes() == data


def test_strict_fails_when_a_take_still_does_not_say_its_text(fake_engine, scripted_asr, tmp_path):
    scripted_asr.say = lambda chunk, seconds: "something else entirely"
    r, _, _ = book(tmp_path, "--verify", "--strict")
    assert r.exit_code == 3
    assert "2 chunk(s) still bad after 2 retries (--strict)" in r.stderr
    assert 'says "something else entirely"' in r.stderr


def test_the_audiobook_preset_verifies_unless_told_not_to(fake_engine, scripted_asr, tmp_path):
    r, _, manifest = book(tmp_path, "--preset", "audiobook")
    assert r.exit_code == 0, r.output
    assert all(c["verified"] for c in json.loads(manifest.read_text())["chunks"])
    r, _, manifest = book(tmp_path, "--preset", "audiobook", "--no-verify")
    assert r.exit_code == 0, r.output
    assert all("transcript" not in c for c in json.loads(manifest.read_text())["chunks"])


def test_candidates_render_several_takes_per_chunk(fake_engine, scripted_asr, tmp_path):
    r, _, manifest = book(tmp_path, "--verify", "--candidates", "3")
    assert r.exit_code == 0, r.output
    chunks = json.loads(manifest.read_text())["chunks"]
    assert [len(c["attempts"]) for c in chunks] == [3, 3]
    for c in chunks:
        kept = [a for a in c["attempts"] if a["kept"]]
        assert len(kept) == 1 and kept[0]["seconds"] == min(a["seconds"] for a in c["attempts"])


def test_bad_verification_values_are_one_line(fake_engine, tmp_path):
    r, _, _ = book(tmp_path, "--verify", "--verify-tolerance", "2")
    assert (r.exit_code, r.stderr.strip()) == (2, "cbx: error: --verify-tolerance 2.0 is out of range; use 0 to 1.")
    r, _, _ = book(tmp_path, "--candidates", "0")
    assert (r.exit_code, r.stderr.strip()) == (2, "cbx: error: --candidates 0 is out of range; use 1 to 8.")


def test_no_speech_model_offline_is_one_line_saying_what_to_do(fake_engine, tmp_path):
    r, out, _ = book(tmp_path, "--verify")
    assert r.exit_code == 4 and not out.exists()
    assert r.stderr.strip() == (
        "cbx: error: Not in the Hugging Face cache, and the hub cannot be reached: speech recognition base.en "
        "(Systran/faster-whisper-base.en, about 145 MB), small.en (Systran/faster-whisper-small.en, about 484 MB). "
        "Fetch them with: cbx models pull base.en small.en (for a machine without the network: add --to DIR on one "
        "that has it, then cbx models pull --from DIR here); or run without checking takes: --no-verify (or hear "
        "them with --verify-model FOLDER)."
    )
    assert fake_engine.made == []  # found missing before any engine was made


def test_a_user_preset_can_turn_verification_on_and_a_typo_is_named(fake_engine, scripted_asr, tmp_path,
                                                                     isolated_env):
    presets = isolated_env.config / "cbx" / "presets"
    presets.mkdir(parents=True)
    (presets / "checked.yaml").write_text("verify:\n  enabled: true\n  candidates: 2\n")
    r, _, manifest = book(tmp_path, "--preset", "checked")
    assert r.exit_code == 0, r.output
    assert [len(c["attempts"]) for c in json.loads(manifest.read_text())["chunks"]] == [2, 2]
    (presets / "typo.yaml").write_text("verify:\n  enabeld: true\n")
    r, _, _ = book(tmp_path, "--preset", "typo")
    assert r.exit_code == 2 and "unknown field 'verify.enabeld'" in r.stderr
