"""`cbx batch` on a local Ray cluster of two one-core workers, on the tiny checkpoint: the files `cbx book` writes,
a worker killed mid-batch, a driver killed with SIGKILL and run again (joining the cluster by address), the
summary, and a driver joining a head of its own through Ray Client (``ray://``).

One Ray instance serves the module (started on the loopback address); a run finds it already up and uses it. Each
worker renders with one torch thread, so the reference `cbx book` runs with one thread too: on the CPU a take is the
same bytes for the same thread count (see cbx_cli.engine.batched).
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from clirun import kill_once_cached, run

pytestmark = pytest.mark.engine

SCRIPTS = {
    "ch01.md": "# One\n\nThe first chapter opens.\n\nIt ends soon.\n",
    "ch02.txt": "A plain script of one paragraph.\n\nAnd a second paragraph.\n",
}
CHUNKS = 5


def common(ckpt: Path) -> list[str]:
    return ["--model-dir", str(ckpt), "--device", "cpu", "--max-tokens", "8", "--retries", "0", "--batch-size", "1",
            "--preset", "audiobook", "--no-verify"]


@pytest.fixture(scope="module")
def cluster():
    """A Ray instance of two CPUs on 127.0.0.1, for the whole module; its address."""
    from cbx_cli.batch.pools import LOCAL_ENV

    env = {**LOCAL_ENV, "HF_HUB_OFFLINE": "1"}  # set before Ray is imported; the workers inherit them
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    import ray

    ray.init(address="local", num_cpus=2, _node_ip_address="127.0.0.1", include_dashboard=False,
             configure_logging=False, log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="module")
def scripts(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("scripts")
    for name, text in SCRIPTS.items():
        (folder / name).write_text(text)
    return folder


@pytest.fixture(scope="module")
def reference(original_ckpt, scripts, tmp_path_factory) -> Path:
    """`cbx book` of each script, with one torch thread as each worker has: NAME.wav and its manifest NAME.json."""
    import torch

    folder = tmp_path_factory.mktemp("book")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for name in SCRIPTS:
            stem = Path(name).stem
            r = run(["book", scripts / name, "-o", folder / f"{stem}.wav", "--manifest", folder / f"{stem}.json",
                     "--cache-dir", folder / "cache", "--quiet", *common(original_ckpt)])
            assert r.exit_code == 0, r.output
    finally:
        torch.set_num_threads(threads)
        gc.collect()  # the book runs' model, before the workers load theirs
    return folder


def same_as_book(out: Path, reference: Path, manifests: bool = False) -> None:
    for name in SCRIPTS:
        stem = Path(name).stem
        assert (out / f"{stem}.wav").read_bytes() == (reference / f"{stem}.wav").read_bytes(), name
        if manifests:  # the same apart from the take cache each run names and the command line each records
            made, booked = (json.loads((folder / f"{stem}.json").read_text()) for folder in (out, reference))
            assert made.pop("cache") != booked.pop("cache") and made.pop("command")["script"] == booked.pop(
                "command")["script"] and made == booked, name


def entries(cache: Path) -> int:
    return len(list(cache.glob("*/*.take")))


def test_a_worker_killed_mid_batch_has_its_batch_rendered_elsewhere(cluster, original_ckpt, scripts, reference,
                                                                   tmp_path):
    from cbx_cli.batch.driver import BatchOutputs, make_pool, narrate_batch
    from cbx_cli.batch.scripts import expand_scripts
    from cbx_cli.config.params import NarrationOptions
    from cbx_cli.engine.base import EngineSpec

    killed: list[str] = []

    def kill_a_busy_worker(state) -> None:
        """As the first batch comes back, SIGKILL the other worker, which is still rendering its own."""
        busy = [name for name, w in state.workers.items() if w.busy and not w.lost]
        if state.done and not killed and busy:
            killed.append(busy[0])
            os.kill(state.workers[busy[0]].pid, signal.SIGKILL)

    spec = EngineSpec(model_dir=original_ckpt, device="cpu")
    options = NarrationOptions(max_tokens=8, retries=0, preset="audiobook", verify=False)
    (tmp_path / "out").mkdir()
    summary = narrate_batch(expand_scripts([str(scripts)]), BatchOutputs(tmp_path / "out"), options, spec,
                            make_pool(spec, 1, "local", 1), tmp_path / "cache", 1, kill_a_busy_worker)
    assert len(killed) == 1
    assert summary.per_worker[killed[0]].lost and summary.requeued == 1
    survivor = next(w for name, w in summary.per_worker.items() if name != killed[0])
    assert survivor.done == CHUNKS - summary.per_worker[killed[0]].done
    assert entries(tmp_path / "cache") == CHUNKS
    same_as_book(tmp_path / "out", reference)


def test_driver_killed_then_rerun_resumes_from_the_cache(cluster, original_ckpt, scripts, reference, tmp_path):
    cache, out = tmp_path / "cache", tmp_path / "out"
    saved = kill_once_cached(["batch", scripts, "-o", out, "--cluster", cluster, "--cache-dir", cache,
                              *common(original_ckpt)], cache)
    assert 2 <= saved < CHUNKS
    assert not list(out.glob("*.wav"))

    # run again (on the module's cluster): only the missing takes are rendered, shared by both workers
    r = run(["batch", scripts, "-o", out, "--manifests", "--cluster", "local", "--worker-cpus", "1", "--cache-dir",
             cache, *common(original_ckpt)])
    assert r.exit_code == 0, r.output
    assert f"{CHUNKS - saved} rendered, {saved} from cache" in r.stderr
    same_as_book(out, reference, manifests=True)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["workers"] == "2 Ray worker(s) (1 CPU core(s) each)"
    assert [s["script"] for s in summary["scripts"]] == list(SCRIPTS)
    assert [s["chunks"] for s in summary["scripts"]] == [3, 2]
    assert summary["total"]["chunks"] == CHUNKS and summary["total"]["rendered"] == CHUNKS - saved
    done = [w["done"] for w in summary["per_worker"].values()]
    assert len(done) == 2 and sum(done) == CHUNKS - saved and (saved == CHUNKS - 1 or min(done) > 0)
    assert summary["requeued"] == 0 and not any(w["lost"] for w in summary["per_worker"].values())
    assert entries(cache) == CHUNKS


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def ray_head(env: dict[str, str]):
    """A Ray head of one CPU on 127.0.0.1 in a process group of its own, with its Ray Client server; yields the
    ``ray://`` address. Stopped by signalling that group (only what it started), its folder removed."""
    gcs, client, agent = _free_port(), _free_port(), _free_port()
    folder = tempfile.mkdtemp(prefix="cbx-ray-", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    head = subprocess.Popen(
        [sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--block", "--node-ip-address=127.0.0.1",
         f"--port={gcs}", f"--ray-client-server-port={client}", f"--runtime-env-agent-port={agent}", "--num-cpus=1",
         "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={folder}"],
        env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", client), timeout=1).close()
                break
            except OSError:
                assert head.poll() is None and time.monotonic() < deadline, "the Ray head did not start"
                time.sleep(0.5)
        yield f"ray://127.0.0.1:{client}"
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
        shutil.rmtree(folder, ignore_errors=True)


def test_batch_through_ray_client(original_ckpt, scripts, reference, tmp_path):
    """`--cluster ray://HOST:PORT` from a driver with only the [ray] extra: Ray Client to a head on loopback."""
    from cbx_cli.batch.pools import LOCAL_ENV

    env = {**os.environ, **LOCAL_ENV, "HF_HUB_OFFLINE": "1", "RAY_AUTH_MODE": "disabled"}
    out = tmp_path / "out"
    with ray_head(env) as address:
        done = subprocess.run([sys.executable, "-m", "cbx_cli", "batch", str(scripts / "ch02.txt"), "-o", str(out),
                               "--cluster", address, "--cache-dir", str(tmp_path / "cache"), "--quiet",
                               *common(original_ckpt)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (out / "ch02.wav").read_bytes() == (reference / "ch02.wav").read_bytes()
    assert json.loads((out / "summary.json").read_text())["workers"] == "1 Ray worker(s) (1 CPU core(s) each)"
