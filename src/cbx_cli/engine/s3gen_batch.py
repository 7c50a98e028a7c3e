"""S3Gen for many takes: speech tokens → mel (per-row noise) → HiFT (per-row noise) → watermark, per take.

The conformer encoder and the flow-matching decoder (the expensive part: 10 Euler steps with CFG doubling the
rows for the original model, 2 mean-flow steps without CFG for turbo) can run on right-padded token batches with
each row's length mask (`flow_mels`, `group` > 1): what the GPU runs, and what the CPU runs under test. The
starting noise is drawn per row from a generator seeded with the chunk's seed. One change to stock's encoder is
needed for padding: the look-ahead convolution must see zeros past a row's end, as it does unbatched (`_encode`).

On the CPU (`workers`), each chunk's whole S3Gen (flow, HiFT, watermark) runs in one of one worker thread per
core, single-threaded: the flow decoder's mid-sized ops scale better across chunks than across the threads of
one op, a batched flow decoder is no faster there, and a take is then the same bit for bit in any batch.

HiFT (the vocoder) runs per take: its convolutions are not causal and their biases make padded positions
non-zero after the first layer, so in a padded batch a row's end would hear its padding. Its random source
(sine phases and noise) is drawn from a per-take generator seeded with the chunk's seed (`hift_wave`), which is
what `torch.manual_seed(seed)` before stock's `hift_inference` gives, and lets takes run in parallel threads.

torch and chatterbox are imported inside the functions.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import numpy as np

SILENCE_TOKENS = 3
"""Turbo's S3Gen input ends with this many `S3GEN_SIL` tokens (`ChatterboxTurboTTS.generate`, chatterbox-tts 0.1.7)."""


class StageClock:
    """Seconds spent per S3Gen stage ("flow", "vocoder", "watermark"), summed over takes and worker threads."""

    def __init__(self):
        self.seconds: dict[str, float] = {"flow": 0.0, "vocoder": 0.0, "watermark": 0.0}
        self._lock = threading.Lock()

    def add(self, stage: str, since: float) -> float:
        """Add the time since `since` to `stage`; returns now (the next stage's start)."""
        now = time.perf_counter()
        with self._lock:
            self.seconds[stage] += now - since
        return now


def watermarked_takes(model, ref: dict, token_lists: Sequence, seeds: Sequence[int], group: int, workers: bool,
                      sample_rate: int, clock: StageClock | None = None) -> list[np.ndarray]:
    """Speech tokens → watermarked float32 takes: the flow decoder `group` chunks at a time, HiFT per take.

    What `S3Token2Wav.inference` and the watermark in `ChatterboxTTS.generate` (or `ChatterboxTurboTTS.generate`,
    for a mean-flow S3Gen) do (chatterbox-tts 0.1.7), for many takes.

    model: a loaded chatterbox model (its `s3gen` and `watermarker`); ref: the voice's S3Gen reference
    (`Conditionals.gen`). group: chunks per flow batch (1: one at a time). workers: run the groups in one
    single-threaded worker thread per torch thread (the CPU's way). clock: where to add each stage's seconds.
    """
    import torch

    s3 = model.s3gen
    out: list[np.ndarray | None] = [None] * len(token_lists)
    live = [i for i, t in enumerate(token_lists) if s3.meanflow or int(t.numel()) > 0]
    for i in set(range(len(token_lists))) - set(live):
        out[i] = np.zeros(0, dtype=np.float32)
    batches = [live[g : g + group] for g in range(0, len(live), max(1, group))]
    clock = clock or StageClock()

    def takes(rows):
        with torch.inference_mode():
            t0 = time.perf_counter()
            mels = flow_mels(s3, ref, [token_lists[i] for i in rows], [seeds[i] for i in rows])
            t0 = clock.add("flow", t0)
            waves = []
            for mel, i in zip(mels, rows, strict=True):
                wave = hift_wave(s3, mel, seeds[i])
                t0 = clock.add("vocoder", t0)
                waves.append(watermarked(model, wave, sample_rate))
                t0 = clock.add("watermark", t0)
            return waves

    n_workers = max(1, min(len(batches), torch.get_num_threads())) if workers else 0
    results = _in_worker_threads(takes, batches, n_workers) if n_workers else [takes(rows) for rows in batches]
    for rows, waves in zip(batches, results, strict=True):
        for i, wave in zip(rows, waves, strict=True):
            out[i] = wave
    return out  # type: ignore[return-value]


def _in_worker_threads(work, batches: list, n_workers: int) -> list:
    """`work` over the batches in worker threads, torch limited to one intra-op thread meanwhile.

    Always one thread per chunk on the CPU, even for a lone chunk: a take must not depend on how many chunks
    shared its batch (a resumed run renders fewer), and thread counts change float sums. On the CPU, S3Gen's flow
    decoder (many mid-sized ops) scales better across chunks than across the threads of one op.
    """
    from concurrent.futures import ThreadPoolExecutor

    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(n_workers) as pool:
            return list(pool.map(work, batches))
    finally:
        torch.set_num_threads(threads)


def watermarked(model, wav, sample_rate: int) -> np.ndarray:
    """A (1, samples) waveform tensor as float32 numpy, watermarked as `ChatterboxTTS.generate` does it
    (chatterbox-tts 0.1.7)."""
    wav = wav.squeeze(0).detach().float().cpu().numpy()
    marked = model.watermarker.apply_watermark(wav, sample_rate=sample_rate)
    return np.ascontiguousarray(marked, dtype=np.float32)


def hift_wave(s3, mel, seed: int):
    """One mel (1, 80, frames) → waveform (1, samples): the HiFT half of `S3Token2Wav.inference` (chatterbox-tts
    0.1.7), `trim_fade` included, with the vocoder's noise from a generator seeded with `seed`."""
    import torch

    hift = s3.mel2wav
    mel = mel.to(dtype=s3.dtype)
    gen = torch.Generator(device=mel.device).manual_seed(int(seed))
    f0 = hift.f0_predictor(mel)
    source = _source(hift.m_source, hift.f0_upsamp(f0[:, None]), gen)
    wav = hift.decode(x=mel, s=source)
    wav[:, : len(s3.trim_fade)] *= s3.trim_fade
    return wav


def _source(m_source, f0, gen):
    """HiFT's excitation (B, 1, samples) for an upsampled f0 (B, 1, samples), its noise drawn from `gen`.

    Mirrors chatterbox-tts 0.1.7's `SineGen.forward` and `SourceModuleHnNSF.forward` in the order they draw from
    torch's global generator (the sine phases, then the noise); the source module's last draw (a noise branch that
    `HiFTGenerator.inference` discards) is left out, as nothing draws after it.
    """
    import math

    import torch

    sine = m_source.l_sin_gen
    harmonics = sine.harmonic_num + 1
    F_mat = torch.zeros((f0.size(0), harmonics, f0.size(-1)), device=f0.device)
    for i in range(harmonics):
        F_mat[:, i : i + 1, :] = f0 * (i + 1) / sine.sampling_rate
    theta_mat = 2 * np.pi * (torch.cumsum(F_mat, dim=-1) % 1)
    low, high = torch.tensor(-math.pi), torch.tensor(math.pi)  # torch.distributions.Uniform(-pi, pi).sample
    rand = torch.rand((f0.size(0), harmonics, 1), generator=gen, dtype=low.dtype, device=f0.device)
    phase_vec = (low + rand * (high - low)).to(F_mat.device)
    phase_vec[:, 0, :] = 0
    sine_waves = sine.sine_amp * torch.sin(theta_mat + phase_vec)
    uv = (f0 > sine.voiced_threshold).type(torch.float32)
    noise_amp = uv * sine.noise_std + (1 - uv) * sine.sine_amp / 3
    noise = noise_amp * torch.randn(sine_waves.shape, generator=gen, dtype=sine_waves.dtype, device=f0.device)
    sine_waves = sine_waves * uv + noise
    return m_source.l_tanh(m_source.l_linear(sine_waves.transpose(1, 2))).transpose(1, 2)


def flow_mels(s3, ref: dict, token_lists: Sequence, seeds: Sequence[int], n_timesteps: int | None = None) -> list:
    """S3Gen's token → mel for many chunks at once: (1, 80, 2 * n) each, n counting turbo's silence tokens.

    Mirrors chatterbox-tts 0.1.7's `S3Token2Wav.flow_inference` (finalize=True) through `S3Token2Mel.forward`
    and `CausalMaskedDiffWithXvec.inference`, on right-padded rows with their lengths; the noise is
    `CausalConditionalCFM.forward`'s, drawn per row from the chunk's seed (`_noise`). A mean-flow S3Gen (turbo)
    gets its silence tokens appended as `ChatterboxTurboTTS.generate` does, 2 steps and no CFG.
    """
    import torch

    dev = s3.device
    if s3.meanflow:
        from chatterbox.models.s3gen.const import S3GEN_SIL

        silence = torch.full((SILENCE_TOKENS,), S3GEN_SIL, dtype=torch.long)
        token_lists = [torch.cat([t.to("cpu").long(), silence]) for t in token_lists]
    lens = [int(t.numel()) for t in token_lists]
    token = torch.zeros(len(lens), max(lens), dtype=torch.long, device=dev)
    for i, t in enumerate(token_lists):
        token[i, : lens[i]] = t.to(dev)
    mu, mask, embedding, conds, prompt_frames = flow_inputs(s3, ref_on(ref, dev, s3.dtype), token, lens)
    z = _noise(mu, prompt_frames, [2 * n for n in lens], seeds, s3.meanflow)
    feat = flow_steps(s3, z, mu, mask, embedding, conds, n_timesteps)
    feat = feat[:, :, prompt_frames:]
    return [feat[i : i + 1, :, : 2 * lens[i]] for i in range(len(lens))]


def flow_steps(s3, z, mu, mask, embedding, conds, n_timesteps: int | None = None):
    """The flow decoder's Euler steps from noise ``z``: `CausalConditionalCFM.forward` (chatterbox-tts 0.1.7) after
    its noise draw; 10 steps with CFG and the cosine schedule, or a mean-flow S3Gen's 2 without CFG."""
    import torch

    decoder = s3.flow.decoder
    steps = n_timesteps or (2 if s3.meanflow else 10)
    t_span = torch.linspace(0, 1, steps + 1, device=mu.device, dtype=mu.dtype)
    if s3.meanflow:
        return decoder.basic_euler(z, t_span=t_span, mu=mu, mask=mask, spks=embedding, cond=conds)
    if decoder.t_scheduler == "cosine":
        t_span = 1 - torch.cos(t_span * 0.5 * torch.pi)
    return decoder.solve_euler(z, t_span=t_span, mu=mu, mask=mask, spks=embedding, cond=conds, meanflow=False)


def flow_inputs(s3, ref: dict, token, lens: list[int]):
    """The flow decoder's inputs for right-padded tokens: mu, mask, speaker embedding, conds, prompt frames.

    `CausalMaskedDiffWithXvec.inference` (chatterbox-tts 0.1.7) up to its decoder call, with the encoder run
    as `_encode` (padding-safe).
    """
    import torch
    from chatterbox.models.s3gen.utils.mask import make_pad_mask

    flow, dev = s3.flow, token.device
    B = token.shape[0]
    embedding = torch.nn.functional.normalize(torch.atleast_2d(ref["embedding"]), dim=1)
    embedding = flow.spk_embed_affine_layer(embedding).expand(B, -1)
    prompt_feat = ref["prompt_feat"] if ref["prompt_feat"].dim() == 3 else ref["prompt_feat"][None]
    token = torch.concat([torch.atleast_2d(ref["prompt_token"]).expand(B, -1), token], dim=1)
    token_len = torch.atleast_1d(ref["prompt_token_len"]).reshape(-1)[:1].expand(B) + torch.tensor(lens, device=dev)
    mask = (~make_pad_mask(token_len)).unsqueeze(-1).to(embedding)
    h, h_masks = _encode(flow.encoder, flow.input_embedding(token.long()) * mask, token_len)
    h_lengths = h_masks.sum(dim=-1).squeeze(dim=-1)
    mel_len1 = prompt_feat.shape[1]
    h = flow.encoder_proj(h)
    conds = torch.zeros([B, h.shape[1], flow.output_size], device=dev).to(h.dtype)
    conds[:, :mel_len1] = prompt_feat
    mask = (~make_pad_mask(h_lengths)).unsqueeze(1).to(h)
    return h.transpose(1, 2).contiguous(), mask, embedding, conds.transpose(1, 2), mel_len1


def ref_on(ref: dict, dev, dtype) -> dict:
    """The reference dict on the model's device and dtype, as `S3Token2Mel.forward` (chatterbox-tts 0.1.7) casts
    it, without changing the voice's own dict."""
    import torch

    out = {}
    for key, value in ref.items():
        if isinstance(value, np.ndarray):
            value = torch.from_numpy(value)
        out[key] = value.to(device=dev, dtype=dtype) if torch.is_tensor(value) else value
    return out


def _noise(mu, prompt_frames: int, frames: Sequence[int], seeds: Sequence[int], meanflow: bool):
    """The flow decoder's starting noise (B, 80, T), per row from a generator seeded with the row's seed.

    chatterbox-tts 0.1.7: `CausalConditionalCFM.forward` draws `randn_like(mu)` for prompt and speech frames; for
    a mean-flow S3Gen, `S3Token2Wav.flow_inference` first draws the speech frames' noise (`noised_mels`), which
    then replaces the speech part of the second draw. Zero past a row's end.
    """
    import torch

    z = torch.zeros_like(mu)
    for i, (n, seed) in enumerate(zip(frames, seeds, strict=True)):
        gen = torch.Generator(device=mu.device).manual_seed(int(seed))
        kw = {"generator": gen, "device": mu.device, "dtype": mu.dtype}
        speech = torch.randn((1, mu.shape[1], n), **kw)[0] if meanflow else None
        z[i, :, : prompt_frames + n] = torch.randn((1, mu.shape[1], prompt_frames + n), **kw)[0]
        if speech is not None:
            z[i, :, prompt_frames : prompt_frames + n] = speech
    return z


def _encode(enc, xs, xs_lens):
    """`UpsampleConformerEncoder.forward` (chatterbox-tts 0.1.7) for padded batches (decoding_chunk_size=0,
    num_decoding_left_chunks=-1).

    The one change: positions past a row's end are zeroed before the look-ahead convolution, which is what that
    convolution sees unbatched (its right zero-padding). Everything after it is causal or masked.
    """
    from chatterbox.models.s3gen.utils.mask import add_optional_chunk_mask, make_pad_mask

    T = xs.size(1)
    masks = ~make_pad_mask(xs_lens, T).unsqueeze(1)  # (B, 1, T)
    if enc.global_cmvn is not None:
        xs = enc.global_cmvn(xs)
    xs, pos_emb, masks = enc.embed(xs, masks)
    mask_pad = masks
    chunk_masks = add_optional_chunk_mask(
        xs, masks, enc.use_dynamic_chunk, enc.use_dynamic_left_chunk, 0, enc.static_chunk_size, -1
    )
    xs = xs * mask_pad.transpose(1, 2).to(xs.dtype)
    xs = enc.pre_lookahead_layer(xs)
    xs = enc.forward_layers(xs, chunk_masks, pos_emb, mask_pad)
    xs = xs.transpose(1, 2).contiguous()
    xs, xs_lens = enc.up_layer(xs, xs_lens)
    xs = xs.transpose(1, 2).contiguous()
    T = xs.size(1)
    masks = ~make_pad_mask(xs_lens, T).unsqueeze(1)
    xs, pos_emb, masks = enc.up_embed(xs, masks)
    mask_pad = masks
    chunk_masks = add_optional_chunk_mask(
        xs, masks, enc.use_dynamic_chunk, enc.use_dynamic_left_chunk, 0, enc.static_chunk_size * enc.up_layer.stride, -1
    )
    xs = enc.forward_up_layers(xs, chunk_masks, pos_emb, mask_pad)
    if enc.normalize_before:
        xs = enc.after_norm(xs)
    return xs, masks
