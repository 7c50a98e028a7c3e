"""S3Gen a piece at a time: one take's speech tokens → its audio, handed out while T3 is still drawing them.

Follows chatterbox-tts 0.1.7's S3Gen (`S3Token2Wav`), stage by stage, for a take whose tokens come in pieces
(`PieceSizes`: a small first piece, larger ones after):

* Flow (tokens → mel). S3Gen's conformer encoder and flow-matching decoder attend over the whole take, so every
  piece runs the flow over the voice's prompt and the tokens so far (from `CONTEXT_TOKENS` before the frames not
  yet handed on), as `CausalMaskedDiffWithXvec.inference` does with ``finalize=False``: the mel of the last
  `LOOKAHEAD` tokens (the encoder's `pre_lookahead_len`, which have not yet seen their own look-ahead) is left out
  until the next piece. (That path of chatterbox-tts 0.1.7 fails as
  written: it cuts the encoder output but not its mask. Here both are cut.) Frames already handed on stay as they
  were; the last `MEL_FADE` frames of a piece wait, and are crossfaded into the next piece's own version of them,
  so a join never jumps. The last piece runs with ``finalize=True`` (turbo's mean-flow S3Gen gets its silence
  tokens there, as `ChatterboxTurboTTS.generate` appends them).
* Vocoder (mel → audio). HiFT's convolutions are not causal: reaching `VOCODER_CONTEXT` frames either side, its
  output is the same as over the whole mel (to ~1e-5). Each piece vocodes its new frames with that much left
  context and holds back its last `VOCODER_HOLD` frames, which the next piece crossfades into its own (better
  informed) version. The excitation (HiFT's `SineGen` and `SourceModuleHnNSF`) is the vocoder's source cache made
  whole: its samples are made once, their sine phases running on from piece to piece, so no piece restarts them.
* Watermark. Chatterbox's watermarker reads a spectrogram window and a few hundred milliseconds around it; each
  piece is watermarked with `MARK_CONTEXT` samples before it and holds back its last `MARK_HOLD`, crossfaded like
  the vocoder's.

Random draws (the flow's starting noise, the excitation's phases and noise) come from generators seeded with the
chunk's seed and the position of what they draw for, in fixed blocks: a streamed take depends on its tokens, voice,
seed and piece sizes (and, on the CPU, the number of torch threads: each piece is made with all of them, as
nothing else runs beside it), never on when T3 handed the tokens over or what else was in the batch. The same code
run as a single piece (`decode_whole`) is what the bench compares a streamed take with: everything but the piece
boundaries the same. torch and chatterbox are imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from cbx_cli.engine.base import PieceSizes
from cbx_cli.engine.s3gen_batch import flow_inputs, flow_steps, ref_on

LOOKAHEAD = 3
"""Tokens at the end of a piece whose mel waits for the next piece (`CausalMaskedDiffWithXvec.pre_lookahead_len`)."""
MEL_PER_TOKEN = 2
SAMPLES_PER_FRAME = 480
"""HiFT's samples per mel frame at 24 kHz (upsampling 8 * 5 * 3, iSTFT hop 4)."""
CONTEXT_TOKENS = 50
"""Speech tokens (2 s) before a piece's new frames that the flow reads again as context: a piece's cost stays
the same however long its take is (the voice's reference is read whole every time, as in a whole take)."""
MEL_FADE = 4
"""Mel frames crossfaded where one piece's flow output meets the next's."""
VOCODER_CONTEXT = 10
"""Mel frames of left context each vocoder run gets; HiFT's output is exact to ~1e-5 that far from an edge."""
VOCODER_HOLD = 6
"""Mel frames a vocoder run holds back for the next one (its right edge is ~1e-3 off at 6 frames)."""
MARK_CONTEXT = 9600
"""Samples of left context (400 ms) each watermark run gets: the watermarker's window and its encoder's reach."""
MARK_HOLD = 1200
"""Samples (50 ms) a watermark run holds back and crossfades into the next."""
NOISE_BLOCK = 50
"""Flow-noise frames per seeded block (1 s)."""
SOURCE_BLOCK = 24000
"""Excitation-noise samples per seeded block (1 s)."""
PROMPT_TOKENS = 75
"""Speech tokens (3 s) of the voice's S3Gen reference that a streamed take's flow reads as its prompt: the first
3 s, as chatterbox would prompt it from a 3-second recording (the speaker embedding stays the whole reference's).
Every piece reads the prompt again, so its length sets most of a piece's cost on a CPU; a whole take reads all of
the reference (up to 10 s)."""
VERSION = "4"
"""Changes whenever what this module makes for the same tokens changes: part of a streamed take's cache key."""


def stream_key(sizes: PieceSizes, device: str) -> str:
    """What a streamed take's cache key adds to its engine's identity: the piece sizes and, on the CPU, the number
    of torch threads a piece is made with (float sums, and so the last bits of the samples, follow it)."""
    import torch

    threads = f":threads{torch.get_num_threads()}" if device == "cpu" else ""
    return (f"stream{VERSION}:{sizes.first}/{sizes.rest}:prompt{PROMPT_TOKENS}:ctx{CONTEXT_TOKENS}:mel{MEL_FADE}"
            f":voc{VOCODER_CONTEXT}/{VOCODER_HOLD}:mark{MARK_CONTEXT}/{MARK_HOLD}{threads}")


def _generator(seed: int, stream: int, block: int):
    """A CPU generator for one block of one kind of draw (`stream`) of a take seeded with `seed`."""
    import torch

    return torch.Generator().manual_seed((int(seed) * 1_000_003 + stream * 7_919 + block) % (1 << 62))


def _block_noise(seed: int, stream: int, rows: int, start: int, end: int, block: int):
    """Standard normal draws (rows, end - start) for positions [start, end), position p's column drawn in block
    p // block: the same values whatever range they are asked for in."""
    import torch

    parts = []
    for b in range(start // block, (end - 1) // block + 1 if end > start else start // block):
        values = torch.randn((block, rows), generator=_generator(seed, stream, b)).T
        lo, hi = max(start, b * block) - b * block, min(end, (b + 1) * block) - b * block
        parts.append(values[:, lo:hi])
    return torch.cat(parts, dim=1) if parts else torch.zeros(rows, 0)


def _fade(n: int):
    """A raised-cosine ramp from 0 to 1 over n points (ends excluded), float32."""
    import torch

    return (0.5 - 0.5 * torch.cos(torch.linspace(0, torch.pi, n + 2, dtype=torch.float64)[1:-1])).float()


class _Held:
    """An append-only signal whose last part each run may revise: ``put(start, values, keep)`` gives the values from
    the last position handed out up to ``keep``, crossfading what the previous run held back into the new run's
    own version of it, and holds back the rest. Works on the last axis (mel frames or samples)."""

    def __init__(self):
        self.done = 0
        """Positions handed out so far."""
        self.held = None

    def put(self, start: int, values, keep: int):
        """``values`` cover positions [start, start + n); return those in [done, keep), hold [keep, end)."""
        import torch

        end = start + values.shape[-1]
        new = values[..., self.done - start :]
        if self.held is not None and self.held.shape[-1]:
            n = min(self.held.shape[-1], new.shape[-1])
            w = _fade(n).to(new.dtype).to(new.device)
            new = torch.cat([self.held[..., :n] * (1 - w) + new[..., :n] * w, new[..., n:]], dim=-1)
        cut = max(0, keep - self.done)
        out, self.held = new[..., :cut], new[..., cut:]
        self.done = max(self.done, min(keep, end))
        return out


@dataclass
class _Source:
    """HiFT's excitation for one take, made once per sample: its harmonics' phases (cycles) where the stored part
    ends, and the stored samples from `start` on."""

    phases: object
    """(1, harmonics, 1) random initial phases, as `SineGen.forward` draws them (the fundamental's is 0)."""
    cycles: object = None
    """(harmonics,) float64 phase, in cycles, of each harmonic at the end of the stored samples."""
    samples: object = None
    start: int = 0


class TakeStream:
    """One take's S3Gen, a piece at a time: `pieces` turns the tokens so far into the audio of every piece they
    complete (the last piece when ``final``); `audio` is everything handed out.

    model: a loaded chatterbox model (its `s3gen` and `watermarker`); ref: the voice's S3Gen reference
    (`Conditionals.gen`); seed: the chunk's seed; prompt_tokens: how much of the reference the flow reads
    (`PROMPT_TOKENS`; None: all of it).
    """

    def __init__(self, model, ref: dict, seed: int, sizes: PieceSizes, sample_rate: int,
                 prompt_tokens: int | None = PROMPT_TOKENS):
        import torch

        self.model = model
        self.s3 = model.s3gen
        self.ref = short_prompt(ref_on(ref, self.s3.device, self.s3.dtype), prompt_tokens)
        self.seed = int(seed)
        self.sizes = sizes
        self.sample_rate = sample_rate
        self.made = 0
        """Pieces made."""
        self.mel = _Held()
        self.voc = _Held()
        self.mark = _Held()
        self.settled = torch.zeros(1, 80, 0)
        """Mel frames handed to the vocoder (on the CPU; only the last VOCODER_CONTEXT are read again)."""
        self.settled_start = 0
        self.voiced = torch.zeros(0)
        """Vocoder output not yet past the watermark's left context."""
        self.voiced_start = 0
        self.out: list[np.ndarray] = []
        sine = self.s3.mel2wav.m_source.l_sin_gen
        phases = torch.rand((1, sine.harmonic_num + 1, 1), generator=_generator(self.seed, 2, 0))
        phases = -torch.pi + phases * 2 * torch.pi  # Uniform(-pi, pi), as SineGen draws them
        phases[:, 0, :] = 0
        self.source = _Source(phases)
        self.finished = False

    def wanted(self) -> int:
        """Speech tokens the next piece needs (its end, and the look-ahead after it)."""
        return self.sizes.boundary(self.made) + LOOKAHEAD

    def pieces(self, tokens, final: bool = False) -> Iterator[np.ndarray]:
        """The audio of every piece ``tokens`` (the take's valid speech tokens so far, 1-D) completes, in order;
        with ``final``, the rest of the take after them (possibly empty: a take always ends with a piece)."""
        import torch

        if self.finished:
            raise RuntimeError("this take has already ended")
        while int(tokens.numel()) >= self.wanted():
            with torch.inference_mode():  # never across a yield: it may resume on another thread
                piece = self._piece(tokens[: self.wanted()], finalize=False)
            yield piece
        if final:
            self.finished = True
            with torch.inference_mode():
                piece = self._piece(tokens, finalize=True)
            yield piece

    @property
    def audio(self) -> np.ndarray:
        """Every sample handed out so far: after the last piece, the whole take."""
        return np.concatenate(self.out) if self.out else np.zeros(0, dtype=np.float32)

    def _piece(self, tokens, finalize: bool) -> np.ndarray:
        self.made += 1
        first = max(0, self.mel.done // MEL_PER_TOKEN - CONTEXT_TOKENS)
        mel = self._flow(tokens, first, finalize)
        start = first * MEL_PER_TOKEN
        end = start + mel.shape[-1]
        settled = self.mel.put(start, mel.cpu().float(), end if finalize else end - MEL_FADE)
        audio = self._vocode(settled, finalize)
        piece = self._watermark(audio, finalize)
        self.out.append(piece)
        return piece

    # -- flow ------------------------------------------------------------------------------------------------------

    def _flow(self, tokens, first: int, finalize: bool):
        """The take's speech mel (1, 80, frames) from ``tokens[first:]`` (the frames of token ``first`` on; the
        tokens before it are not read): without the look-ahead tokens' frames unless ``finalize``.
        `S3Token2Wav.flow_inference` through `CausalMaskedDiffWithXvec.inference` (chatterbox-tts 0.1.7), the
        starting noise drawn per block of frames by position in the take, so it does not depend on ``first``."""
        import torch

        s3 = self.s3
        tokens = tokens[first:].to("cpu").long()
        if s3.meanflow and finalize:
            from chatterbox.models.s3gen.const import S3GEN_SIL

            from cbx_cli.engine.s3gen_batch import SILENCE_TOKENS

            tokens = torch.cat([tokens, torch.full((SILENCE_TOKENS,), S3GEN_SIL, dtype=torch.long)])
        n = int(tokens.numel())
        if n == 0:
            return torch.zeros(1, 80, 0)
        mu, mask, embedding, conds, prompt = flow_inputs(s3, self.ref, tokens[None].to(s3.device), [n])
        if not finalize:
            cut = LOOKAHEAD * MEL_PER_TOKEN
            mu, mask, conds = mu[..., :-cut], mask[..., :-cut], conds[..., :-cut]
        frames, shift = mu.shape[-1], first * MEL_PER_TOKEN
        z = torch.cat([_block_noise(self.seed, 1, mu.shape[1], 0, prompt, NOISE_BLOCK),
                       _block_noise(self.seed, 1, mu.shape[1], prompt + shift, frames + shift, NOISE_BLOCK)], dim=1)
        z = z[None].to(mu.device, mu.dtype)
        feat = flow_steps(s3, z, mu, mask, embedding, conds)
        return feat[:, :, prompt:]

    # -- vocoder ---------------------------------------------------------------------------------------------------

    def _vocode(self, mel, finalize: bool):
        """HiFT over the newly settled mel frames with left context; the samples now final (the last
        `VOCODER_HOLD` frames' held back unless ``finalize``), `trim_fade` applied at the take's start."""
        import torch

        s3, hift = self.s3, self.s3.mel2wav
        self.settled = torch.cat([self.settled, mel], dim=-1)
        total = self.settled_start + self.settled.shape[-1]  # frames settled in all
        start = max(self.settled_start, self.voc.done // SAMPLES_PER_FRAME - VOCODER_CONTEXT)
        x = self.settled[..., start - self.settled_start :]
        if x.shape[-1] == 0:
            return torch.zeros(0)
        x = x.to(s3.device, s3.dtype)
        keep = total if finalize else total - VOCODER_HOLD
        f0 = hift.f0_upsamp(hift.f0_predictor(x)[:, None])
        source = self._source(f0, start * SAMPLES_PER_FRAME, keep * SAMPLES_PER_FRAME)
        wav = hift.decode(x=x, s=source)[0].float().cpu()
        fade = s3.trim_fade.float().cpu()
        first = start * SAMPLES_PER_FRAME
        if first < len(fade):
            n = min(len(fade) - first, wav.shape[-1])
            wav = torch.cat([wav[:n] * fade[first : first + n], wav[n:]])
        self.settled = self.settled[..., max(0, self.settled.shape[-1] - VOCODER_CONTEXT - VOCODER_HOLD) :]
        self.settled_start = total - self.settled.shape[-1]
        return self.voc.put(first, wav, keep * SAMPLES_PER_FRAME)

    def _source(self, f0, start: int, keep: int):
        """The excitation (1, 1, samples) for upsampled f0 starting at sample ``start``: stored samples where there
        are some, the rest made now, their phases running on from the stored end; what lies before ``keep`` is
        stored. `SineGen.forward` and `SourceModuleHnNSF.forward` (chatterbox-tts 0.1.7), per sample."""
        import torch

        m_source = self.s3.mel2wav.m_source
        sine = m_source.l_sin_gen
        src = self.source
        n = f0.shape[-1]
        stored_end = src.start + (src.samples.shape[-1] if src.samples is not None else 0)
        have = max(0, min(n, stored_end - start))
        f0_new = f0[..., have:].double()  # (1, 1, m)
        harmonics = torch.arange(1, sine.harmonic_num + 2, dtype=torch.float64, device=f0.device)[None, :, None]
        steps = f0_new * harmonics / sine.sampling_rate  # (1, H, m) cycles per sample
        before = src.cycles.to(f0.device)[None, :, None] if src.cycles is not None else 0.0
        cycles = before + torch.cumsum(steps, dim=-1)
        theta = 2 * torch.pi * (cycles % 1)
        waves = sine.sine_amp * torch.sin(theta.float() + src.phases.to(f0.device))
        uv = (f0[..., have:] > sine.voiced_threshold).float()
        noise_amp = uv * sine.noise_std + (1 - uv) * sine.sine_amp / 3
        first = start + have
        noise = _block_noise(self.seed, 3, waves.shape[1], first, first + waves.shape[-1], SOURCE_BLOCK)
        waves = waves * uv + noise_amp * noise[None].to(f0.device)
        made = m_source.l_tanh(m_source.l_linear(waves.transpose(1, 2).to(f0.dtype))).transpose(1, 2)
        old = src.samples[..., start - src.start : start - src.start + have] if have else made[..., :0]
        out = torch.cat([old.to(made.device, made.dtype), made], dim=-1)
        store = max(0, min(keep, start + n) - first)  # new samples that become final
        if store:
            src.samples = made[..., :store] if src.samples is None else torch.cat(
                [src.samples.to(made.device), made[..., :store]], dim=-1)
            src.cycles = (cycles[0, :, store - 1] % 1).cpu()
            # keep what the next run's left context can read
            drop = max(0, src.samples.shape[-1] - (VOCODER_CONTEXT + VOCODER_HOLD + 1) * SAMPLES_PER_FRAME)
            src.samples, src.start = src.samples[..., drop:], src.start + drop
        return out

    # -- watermark -------------------------------------------------------------------------------------------------

    def _watermark(self, audio, finalize: bool) -> np.ndarray:
        """Chatterbox's watermark over the vocoder's new samples with left context; the samples now final."""
        import torch

        self.voiced = torch.cat([self.voiced, audio])
        total = self.voiced_start + self.voiced.shape[-1]
        keep = total if finalize else total - MARK_HOLD
        if keep <= self.mark.done:
            return np.zeros(0, dtype=np.float32)
        start = max(self.voiced_start, self.mark.done - MARK_CONTEXT)
        segment = self.voiced[start - self.voiced_start :].numpy()
        marked = self.model.watermarker.apply_watermark(segment, sample_rate=self.sample_rate)
        marked = torch.from_numpy(np.ascontiguousarray(marked, dtype=np.float32))[: len(segment)]
        out = self.mark.put(start, marked, keep)
        drop = max(0, self.voiced.shape[-1] - MARK_CONTEXT - MARK_HOLD)
        self.voiced, self.voiced_start = self.voiced[drop:], self.voiced_start + drop
        return np.ascontiguousarray(out.numpy(), dtype=np.float32)


def short_prompt(ref: dict, tokens: int | None) -> dict:
    """The reference dict with its prompt cut to its first ``tokens`` speech tokens and their mel frames (None: as
    it is)."""
    have = int(ref["prompt_token"].shape[-1])
    if tokens is None or have <= tokens:
        return ref
    out = dict(ref)
    out["prompt_token"] = ref["prompt_token"][..., :tokens]
    out["prompt_token_len"] = ref["prompt_token_len"].clone().fill_(tokens)
    feat = ref["prompt_feat"]
    out["prompt_feat"] = feat[..., : tokens * MEL_PER_TOKEN, :] if feat.dim() == 3 else feat[: tokens * MEL_PER_TOKEN]
    if out.get("prompt_feat_len") is not None:
        out["prompt_feat_len"] = ref["prompt_feat_len"].clone().fill_(tokens * MEL_PER_TOKEN)
    return out


def decode_whole(model, ref: dict, tokens, seed: int, sample_rate: int,
                 prompt_tokens: int | None = PROMPT_TOKENS) -> np.ndarray:
    """``tokens`` through `TakeStream` as one piece: the take streaming would make with no piece boundaries (what
    the bench measures a streamed take's drift against); with ``prompt_tokens=None``, from the whole reference."""
    stream = TakeStream(model, ref, seed, PieceSizes(first=1 << 30, rest=1 << 30), sample_rate, prompt_tokens)
    for _ in stream.pieces(tokens, final=True):
        pass
    return stream.audio
