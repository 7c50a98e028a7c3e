"""S3Gen for many takes: speech tokens → mel (batched, per-row noise) → HiFT → watermark, per take.

On CUDA the conformer encoder and the flow-matching decoder (the expensive part: 10 Euler steps, CFG doubled) run
on right-padded token batches with each row's length mask; the starting noise is drawn per row from a generator
seeded with the chunk's seed. One change to stock's encoder is needed for padding: the look-ahead convolution must
see zeros past a row's end, as it does unbatched (`_encode`). On the CPU the same code runs one chunk at a time,
with one worker thread per core each running one chunk single-threaded: there a batched flow decoder is slower,
not faster, and one row is bit-exact with stock's `flow_inference` for the same noise and thread count. HiFT (the
vocoder: non-causal convolutions, where padding would leak into the end of a row) always runs per chunk, in turn,
under `torch.manual_seed(seed)` (its noise comes from the global generator); then Chatterbox's watermark, per take.

torch and chatterbox are imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cbx_cli.engine.stock import watermarked


def watermarked_takes(model, ref: dict, token_lists: Sequence, seeds: Sequence[int], group: int, workers: bool,
          sample_rate: int) -> list[np.ndarray]:
    """Speech tokens → watermarked float32 takes; the flow decoder `group` chunks at a time, HiFT per chunk.

    What `S3Token2Wav.inference` and the watermark in `ChatterboxTTS.generate` do (chatterbox-tts 0.1.7), for
    many takes.

    model: a loaded chatterbox model (its `s3gen` and `watermarker`); ref: the voice's S3Gen reference
    (`Conditionals.gen`). workers: on the CPU, run the flow of several groups at once, one thread each.
    """
    import torch

    out: list[np.ndarray | None] = [None] * len(token_lists)
    live = [i for i, t in enumerate(token_lists) if int(t.numel()) > 0]
    for i in set(range(len(token_lists))) - set(live):
        out[i] = np.zeros(0, dtype=np.float32)
    if not live:
        return out  # type: ignore[return-value]
    batches = [live[g : g + group] for g in range(0, len(live), group)]

    def flow(rows):
        with torch.inference_mode():
            return flow_mels(model.s3gen, ref, [token_lists[i] for i in rows], [seeds[i] for i in rows])

    n_workers = max(1, min(len(batches), torch.get_num_threads())) if workers else 0
    if n_workers:
        results = _in_worker_threads(flow, batches, n_workers)
    else:
        results = [flow(rows) for rows in batches]
    mels = [mel for result in results for mel in result]
    with torch.inference_mode():
        for i, mel in zip(live, mels, strict=True):
            out[i] = hift_take(model, mel, seeds[i], sample_rate)
    return out  # type: ignore[return-value]


def _in_worker_threads(flow, batches: list, n_workers: int) -> list:
    """`flow` over the batches in worker threads, torch limited to one intra-op thread meanwhile.

    Always one thread per chunk on the CPU, even for a lone chunk: a take must not depend on how many chunks
    shared its batch (a resumed run renders fewer), and thread counts change float sums. On the CPU, S3Gen's flow
    decoder (many mid-sized ops) scales better across chunks than across the threads of one op: one
    single-threaded chunk per core is ~1.4x faster than chunks in turn on 2 cores.
    """
    from concurrent.futures import ThreadPoolExecutor

    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(n_workers) as pool:
            return list(pool.map(flow, batches))
    finally:
        torch.set_num_threads(threads)


def hift_take(model, mel, seed: int, sample_rate: int) -> np.ndarray:
    """One mel → watermarked waveform: the HiFT half of `S3Token2Wav.inference`, then `generate`'s watermark.

    Mirrors chatterbox-tts 0.1.7: `hift_inference`, the `trim_fade` on the first samples, `apply_watermark`; the
    vocoder's noise comes from torch's global generator, seeded with the chunk's seed.
    """
    import torch

    s3 = model.s3gen
    torch.manual_seed(seed)
    wav, _ = s3.hift_inference(mel.to(dtype=s3.dtype), None)
    wav[:, : len(s3.trim_fade)] *= s3.trim_fade
    return watermarked(model, wav, sample_rate)


def flow_mels(s3, ref: dict, token_lists: Sequence, seeds: Sequence[int], n_timesteps: int = 10) -> list:
    """S3Gen's token → mel for many chunks at once: (1, 80, 2 * n) each.

    Mirrors chatterbox-tts 0.1.7's `S3Token2Wav.flow_inference` (finalize=True) through `S3Token2Mel.forward`
    and `CausalMaskedDiffWithXvec.inference`, on right-padded rows with their lengths; the noise is
    `CausalConditionalCFM.forward`'s, drawn per row from the chunk's seed (`_noise`).
    """
    import torch
    from chatterbox.models.s3gen.utils.mask import make_pad_mask

    flow = s3.flow
    dev, dtype = s3.device, s3.dtype
    ref = _ref_on(ref, dev, dtype)
    lens = [int(t.numel()) for t in token_lists]
    B = len(token_lists)
    token = torch.zeros(B, max(lens), dtype=torch.long, device=dev)
    for i, t in enumerate(token_lists):
        token[i, : lens[i]] = t.to(dev)
    embedding = torch.nn.functional.normalize(torch.atleast_2d(ref["embedding"]), dim=1)
    embedding = flow.spk_embed_affine_layer(embedding).expand(B, -1)
    prompt_feat = ref["prompt_feat"] if ref["prompt_feat"].dim() == 3 else ref["prompt_feat"][None]
    token = torch.concat([torch.atleast_2d(ref["prompt_token"]).expand(B, -1), token], dim=1)
    token_len = torch.atleast_1d(ref["prompt_token_len"]).reshape(-1)[:1].expand(B) + torch.tensor(lens, device=dev)
    mask = (~make_pad_mask(token_len)).unsqueeze(-1).to(embedding)
    h, h_masks = _encode(flow.encoder, flow.input_embedding(token.long()) * mask, token_len)
    h_lengths = h_masks.sum(dim=-1).squeeze(dim=-1)
    mel_len1, mel_len2 = prompt_feat.shape[1], h.shape[1] - prompt_feat.shape[1]
    h = flow.encoder_proj(h)
    conds = torch.zeros([B, mel_len1 + mel_len2, flow.output_size], device=dev).to(h.dtype)
    conds[:, :mel_len1] = prompt_feat
    mask = (~make_pad_mask(h_lengths)).unsqueeze(1).to(h)
    mu = h.transpose(1, 2).contiguous()
    z = _noise(mu, [mel_len1 + 2 * n for n in lens], seeds)
    decoder = flow.decoder
    t_span = torch.linspace(0, 1, n_timesteps + 1, device=dev, dtype=mu.dtype)
    if decoder.t_scheduler == "cosine":
        t_span = 1 - torch.cos(t_span * 0.5 * torch.pi)
    feat = decoder.solve_euler(z, t_span=t_span, mu=mu, mask=mask, spks=embedding, cond=conds.transpose(1, 2),
                               meanflow=False)
    feat = feat[:, :, mel_len1:]
    return [feat[i : i + 1, :, : 2 * lens[i]] for i in range(B)]


def _ref_on(ref: dict, dev, dtype) -> dict:
    """The reference dict on the model's device and dtype, as `S3Token2Mel.forward` (chatterbox-tts 0.1.7) casts
    it, without changing the voice's own dict."""
    import torch

    out = {}
    for key, value in ref.items():
        if isinstance(value, np.ndarray):
            value = torch.from_numpy(value)
        out[key] = value.to(device=dev, dtype=dtype) if torch.is_tensor(value) else value
    return out


def _noise(mu, frames: Sequence[int], seeds: Sequence[int]):
    """`CausalConditionalCFM.forward`'s starting noise (chatterbox-tts 0.1.7), per row from a generator seeded
    with the row's seed."""
    import torch

    z = torch.zeros_like(mu)
    for i, (n, seed) in enumerate(zip(frames, seeds, strict=True)):
        gen = torch.Generator(device=mu.device).manual_seed(int(seed))
        z[i, :, :n] = torch.randn((1, mu.shape[1], n), generator=gen, device=mu.device, dtype=mu.dtype)[0]
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
