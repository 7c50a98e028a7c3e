"""`cbx check`, `cbx bench` and `cbx doctor`: measure a delivered file, the engines, and the set-up."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cbx_cli.cli.app import app
from cbx_cli.cli.options import with_options
from cbx_cli.config.ranges import RANGES


@app.command()
def check(
    audio: Annotated[Path, typer.Argument(metavar="FILE", help="An audio file to measure.")],
    acx: Annotated[bool, typer.Option("--acx", help="Check against ACX audiobook requirements.")] = False,
) -> None:
    """Measure RMS loudness, peak and noise floor; with --acx, exit 1 if any ACX requirement fails."""
    from cbx_cli.tools.check import acx_check, format_requirements

    requirements = acx_check(audio)
    for line in format_requirements(requirements):
        typer.echo(line)
    if acx and not all(r.passed for r in requirements):
        raise typer.Exit(1)


@app.command()
@with_options("model", "debug", "asr", "verify_model", "first_piece")
def bench(
    opts,
    chunks: Annotated[int, typer.Option("--chunks", metavar="N", help=RANGES["chunks"].help)] = 8,
    tokens: Annotated[int, typer.Option("--tokens", metavar="N", help=RANGES["tokens"].help)] = 40,
    repeats: Annotated[int, typer.Option("--repeats", metavar="N", help=RANGES["repeats"].help)] = 1,
    json_path: Annotated[Path | None, typer.Option("--json", metavar="FILE",
            help="Also write the results to this JSON file.")] = None,
    serve: Annotated[bool, typer.Option("--serve", help="Measure `cbx serve` instead: --chunks requests of one "
                                        "sentence each, sent by 1 client and by 10 at once.")] = False,
    latency: Annotated[bool, typer.Option("--latency", help="Measure streaming instead: one sentence of --tokens "
                                          "tokens made whole and streamed (time to first audio, real-time factor, "
                                          "stalls), and how far the streamed take drifts from its tokens decoded "
                                          "in one piece.")] = False,
) -> None:
    """Stock Chatterbox (one chunk at a time) against cbx's batched engine, on the same chunks and weights.

    Without --model-dir, full-size random weights are built in memory: the architecture, not the weights, sets the
    speed. With --asr, the speech recognition that --verify adds instead."""
    from cbx_cli.api import resolve_device
    from cbx_cli.cli.app import State, setup_logging
    from cbx_cli.config.params import BenchOptions, check_options
    from cbx_cli.errors import ParamError
    from cbx_cli.tools.bench import check_json_output, format_report, run_bench, write_json

    setup_logging(opts.debug)
    work = check_options(BenchOptions, chunks=chunks, tokens=tokens, repeats=repeats)
    if json_path is not None:
        check_json_output(json_path, opts.model_dir)
    where, _ = resolve_device(opts.device.value)
    if opts.asr:
        from cbx_cli.tools.bench_asr import format_asr_report, run_asr_bench

        typer.echo(format_asr_report(result := run_asr_bench(opts.verify_model, where, work.chunks, work.repeats)))
        if json_path is not None:
            write_json(result, json_path)
        return
    if opts.model.value == "multilingual":
        raise ParamError("cbx bench measures --model original or turbo.")
    if latency:
        from cbx_cli.config.params import RunOptions
        from cbx_cli.tools.bench_latency import format_latency_report, run_latency_bench

        first = check_options(RunOptions, first_piece=opts.first_piece).first_piece or 10
        result = run_latency_bench(opts.model_dir, opts.model.value, where, work.tokens, first,
                                   repeats=work.repeats)
        typer.echo(format_latency_report(result))
    elif serve:
        from cbx_cli.tools import bench_serve as serve_bench

        result = serve_bench.run_serve_bench(opts.model_dir, opts.model.value, where, work.chunks, work.tokens,
                                             engine_factory=State.engine_factory)
        typer.echo(serve_bench.format_report(result))
    else:
        result = run_bench(opts.model_dir, opts.model.value, where, work.chunks, work.tokens, repeats=work.repeats)
        typer.echo(format_report(result))
    if json_path is not None:
        write_json(result, json_path)


@app.command()
@with_options("say_output", "fmt", "bitrate", "preset", "language", "verify", "verify_model", "recheck_model",
              "model", "cache_dir", "play", "debug")
def doctor(
    opts,
    self_test: Annotated[bool, typer.Option("--self-test", help="Also run a few chunks greedily through the batched "
                                            "engine and stock on the device, and say whether they match.")] = False,
) -> None:
    """Check what a command line would need: give it the options of the run (--model, --model-dir, --preset or
    --verify, -o or --format, --cache-dir, --play). Each missing piece is printed with its fix; exit 1 if any."""
    from cbx_cli.api import EngineSpec
    from cbx_cli.cli.app import err, setup_logging
    from cbx_cli.tools.doctor import diagnose, needs_of
    from cbx_cli.tools.doctor import self_test as run_self_test

    setup_logging(opts.debug)
    spec = EngineSpec.from_options(opts.model.value, opts.model_dir, opts.device.value, None, revision=opts.revision)
    needs = needs_of(spec, opts.preset, opts.verify, opts.language, opts.verify_model, opts.recheck_model,
                     opts.say_output, opts.fmt, opts.bitrate, opts.cache_dir, opts.play)
    findings = diagnose(needs)
    if self_test:
        findings.append(run_self_test(spec, say=lambda line: err.print(f"self-test: {line} ...", markup=False)))
    for finding in findings:
        typer.echo(f"{'ok' if finding.ok else '--'}  {finding.name:<20} {finding.value}")
        if not finding.ok and finding.fix:
            typer.echo(f"    {'':<20} fix: {finding.fix}")
    missing = [f for f in findings if not f.ok]
    if missing:
        typer.echo(f"{len(missing)} needed piece(s) missing: {', '.join(f.name for f in missing)}.")
        models = [f.pull for f in missing if f.pull]
        if len(models) > 1:
            typer.echo(f"Fetch every missing model with: cbx models pull {' '.join(models)}")
        raise typer.Exit(1)
