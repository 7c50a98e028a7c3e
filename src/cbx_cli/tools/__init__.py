"""Tools beside the pipeline: commands over the library, and what tests and benchmarks build.

bench.py (`cbx bench`: stock against the batched engine), bench_asr.py (`--asr`), bench_serve.py (`--serve`),
doctor.py (`cbx doctor`), review.py (`cbx review`'s page), check.py (`cbx check --acx`), checkpoints.py (random-weight
Chatterbox checkpoints) and whisper_checkpoints.py (a tiny random Whisper). No stage imports these.
"""
