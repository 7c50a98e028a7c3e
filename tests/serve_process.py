"""`cbx serve` in a process of its own, on the fake engine: for tests that kill it (kill -9, SIGTERM).

    python tests/serve_process.py PORT DATA_DIR CACHE_DIR DELAY [WORKERS]

DELAY is the seconds each engine call takes, so a test can stop the server mid-job.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from cbx_cli.cli import main  # noqa: E402
from cbx_cli.cli.app import State  # noqa: E402
from fakes import FakeEngines  # noqa: E402

if __name__ == "__main__":
    port, data_dir, cache_dir, delay = sys.argv[1:5]
    workers = sys.argv[5] if len(sys.argv) > 5 else "1"
    engines = FakeEngines()
    engines.knobs["delay"] = float(delay)
    State.engine_factory = engines
    main(["serve", "--port", port, "--data-dir", data_dir, "--cache-dir", cache_dir, "--device", "cpu",
          "--batch-size", "2", "--workers", workers])
