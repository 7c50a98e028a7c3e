"""The server's counters, served at `GET /metrics` in Prometheus' text format (written by hand: a handful of
counters and one histogram need no client library)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64)
"""Upper bounds of the batch-size histogram (chunks per engine call)."""


class Metrics:
    """Thread-safe counters; ``queue_depth`` and ``running`` are read when the text is made."""

    def __init__(self, queue_depth: Callable[[], int] = lambda: 0, running: Callable[[], int] = lambda: 0):
        self._lock = threading.Lock()
        self.requests: Counter[tuple[str, str, int]] = Counter()
        self.errors: Counter[str] = Counter()
        self.batch_counts = [0] * len(BATCH_BUCKETS)
        self.batches = 0
        self.batch_chunks = 0
        self.batch_callers = 0
        self.audio_seconds = 0.0
        self.inference_seconds = 0.0
        self.queue_depth = queue_depth
        self.running = running

    def request(self, method: str, route: str, status: int) -> None:
        with self._lock:
            self.requests[(method, route, status)] += 1
            if status >= 400:
                self.errors[route] += 1

    def batch(self, chunks: int, callers: int) -> None:
        with self._lock:
            self.batches += 1
            self.batch_chunks += chunks
            self.batch_callers += callers
            for i, bound in enumerate(BATCH_BUCKETS):
                if chunks <= bound:
                    self.batch_counts[i] += 1

    def narrated(self, audio_seconds: float, inference_seconds: float) -> None:
        with self._lock:
            self.audio_seconds += audio_seconds
            self.inference_seconds += inference_seconds

    def text(self) -> str:
        with self._lock:
            lines = ["# HELP cbx_requests_total HTTP requests by method, route and status.",
                     "# TYPE cbx_requests_total counter"]
            lines += [f'cbx_requests_total{{method="{m}",route="{r}",status="{s}"}} {n}'
                      for (m, r, s), n in sorted(self.requests.items())]
            lines += ["# HELP cbx_errors_total Requests answered with a 4xx or 5xx status, by route.",
                      "# TYPE cbx_errors_total counter"]
            lines += [f'cbx_errors_total{{route="{r}"}} {n}' for r, n in sorted(self.errors.items())]
            lines += ["# HELP cbx_batch_chunks Chunks per engine call (all requests' chunks together).",
                      "# TYPE cbx_batch_chunks histogram"]
            lines += [f'cbx_batch_chunks_bucket{{le="{b}"}} {n}' for b, n in zip(BATCH_BUCKETS, self.batch_counts,
                                                                                 strict=True)]
            lines += [f'cbx_batch_chunks_bucket{{le="+Inf"}} {self.batches}',
                      f"cbx_batch_chunks_sum {self.batch_chunks}", f"cbx_batch_chunks_count {self.batches}",
                      "# HELP cbx_batch_requests_total Requests served by the engine calls, summed over calls.",
                      "# TYPE cbx_batch_requests_total counter", f"cbx_batch_requests_total {self.batch_callers}",
                      "# HELP cbx_audio_seconds_total Seconds of audio narrated.",
                      "# TYPE cbx_audio_seconds_total counter", f"cbx_audio_seconds_total {self.audio_seconds:.3f}",
                      "# HELP cbx_inference_seconds_total Wall seconds spent narrating.",
                      "# TYPE cbx_inference_seconds_total counter",
                      f"cbx_inference_seconds_total {self.inference_seconds:.3f}"]
        lines += ["# HELP cbx_queue_depth Queued jobs (/v2) waiting for a worker.", "# TYPE cbx_queue_depth gauge",
                  f"cbx_queue_depth {self.queue_depth()}",
                  "# HELP cbx_jobs_running Queued jobs (/v2) being narrated now.", "# TYPE cbx_jobs_running gauge",
                  f"cbx_jobs_running {self.running()}"]
        return "\n".join(lines) + "\n"
