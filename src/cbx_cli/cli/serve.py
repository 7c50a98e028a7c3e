"""`cbx serve`: the library's HTTP API on this machine (see `cbx_cli.serve`)."""

from __future__ import annotations

from cbx_cli.cli.app import State, app, err, setup_logging
from cbx_cli.cli.options import with_options


@app.command()
@with_options("host", "port", "api_key_file", "data_dir", "allow_private_urls", "workers", "max_concurrent", "preset",
              "serve_config", "model", "batch_size", "no_batch", "cache_dir", "no_cache", "debug")
def serve(opts) -> None:
    """Serve /v1/tts, /v2/tts (queued jobs) and /v1/voices over HTTP, and drop-ins for the hosted Chatterbox APIs
    (OpenAI, Segmind, Pixazo, Resonance, Fish Audio), batching the chunks of concurrent requests together."""
    from cbx_cli import serve as server
    from cbx_cli.config.params import RunOptions, ServeOptions, check_options
    from cbx_cli.config.paths import takes_dir
    from cbx_cli.serve.auth import load_keys

    setup_logging(opts.debug)
    check_options(ServeOptions, port=opts.port, workers=opts.workers, max_concurrent=opts.max_concurrent)
    check_options(RunOptions, batch_size=opts.batch_size)
    keys = load_keys(opts.api_key_file)
    server.check_host(opts.host, keys)
    limits = server.Limits(concurrent=opts.max_concurrent)
    data_dir = opts.data_dir or server.default_data_dir()
    defaults, preset = server.Defaults(), None
    if opts.serve_config is not None:
        from cbx_cli.serve.service import shared_voices
        from cbx_cli.serve.settings import load_settings

        defaults, preset = load_settings(opts.serve_config, shared_voices(data_dir))
    if opts.preset is not None:
        from cbx_cli.config.presets import get_preset

        get_preset(opts.preset)
        preset = opts.preset
    config = server.ServeConfig(data_dir, limits,
                                allow_private_urls=opts.allow_private_urls, workers=opts.workers, preset=preset,
                                defaults=defaults)
    narrator_options = dict(model=opts.model.value, model_dir=opts.model_dir, revision=opts.revision,
                            device=opts.device.value, batched=not opts.no_batch, batch_size=opts.batch_size,
                            cache_dir=None if opts.no_cache else takes_dir(opts.cache_dir))
    app_ = server.build_app(narrator_options, config, keys, engine_factory=State.engine_factory)
    auth = f"{len(keys)} API key(s)" if keys else "no API key (loopback only)"
    err.print(f"cbx serve: {opts.model.value} on http://{opts.host}:{opts.port} ({auth}); data in {config.data_dir}",
              markup=False)
    try:
        server.run(app_, opts.host, opts.port, opts.debug)
    except KeyboardInterrupt:  # uvicorn hands the SIGINT/SIGTERM it handled on to cbx's handler once it has stopped
        pass
    err.print("cbx serve: stopped; queued jobs stay queued for the next start.", markup=False)
