"""The multilingual model offline, on a tiny random checkpoint: loading builds no Chinese converter (its Cangjie
table would come from the hub, its segmenter from the network); French runs end to end through `cbx say` and
`cbx book`.

The converter is replaced by one that fails as it fails with no network, so a load that still built it at once
would fail these tests.
"""

from __future__ import annotations

import pytest
import soundfile as sf

from clirun import run

pytestmark = pytest.mark.engine

FAST = ["--device", "cpu", "--max-tokens", "6", "--retries", "0", "--quiet", "--no-cache"]


@pytest.fixture
def no_network_converter(monkeypatch):
    """chatterbox's ChineseCangjieConverter, failing when built (offline, its download cannot succeed)."""
    from chatterbox.models.tokenizers import tokenizer

    built = []

    class Offline:
        def __init__(self, model_dir=None):
            built.append(model_dir)
            raise OSError("the hub cannot be reached")

    monkeypatch.setattr(tokenizer, "ChineseCangjieConverter", Offline)
    return built


def test_say_and_book_in_french_offline(multilingual_ckpt, tmp_path, no_network_converter):
    model = ["--model", "multilingual", "--language", "fr", "--model-dir", multilingual_ckpt]
    out = tmp_path / "bonjour.wav"
    r = run(["say", "Bonjour à tous. Voilà l'été.", "-o", out, *model, *FAST])
    assert r.exit_code == 0, r.output
    audio, sr = sf.read(str(out), dtype="float32")
    assert sr == 24000 and len(audio) > 0
    script = tmp_path / "livre.md"
    script.write_text("# Un\n\nLe premier chapitre.\n\n# Deux\n\nLe second chapitre, déjà.\n", encoding="utf-8")
    book = tmp_path / "livre.wav"
    r = run(["book", script, "-o", book, *model, *FAST])
    assert r.exit_code == 0, r.output
    assert sf.info(str(book)).frames > 0
    assert no_network_converter == []


def test_chinese_converter_is_built_on_first_chinese_text(multilingual_ckpt, no_network_converter):
    from cbx_cli.engine.base import EngineSpec
    from cbx_cli.engine.stock import ChatterboxEngine

    engine = ChatterboxEngine(EngineSpec(model="multilingual", model_dir=multilingual_ckpt, device="cpu"))
    engine.load()
    tokenizer = engine.model.tokenizer
    assert tokenizer.text_to_tokens("bonjour", language_id="fr").numel() > 0
    assert no_network_converter == []
    with pytest.raises(OSError, match="the hub cannot be reached"):
        tokenizer.text_to_tokens("你好", language_id="zh")
    assert len(no_network_converter) == 1
