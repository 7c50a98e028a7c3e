"""Outputs never land on inputs or on what is not a regular file; stdout reports a reader that stopped early."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from cbx_cli.api import VoicePrompt, run_inputs
from cbx_cli.deliver.export import write_stream
from cbx_cli.deliver.output import Delivery
from cbx_cli.deliver.safety import Named, check_clashes, same_file, stream_alias
from cbx_cli.errors import OutputError, StreamClosed
from cbx_cli.files import write_bytes_atomic
from cbx_cli.parse.markdown import parse_markdown


def test_same_file_is_real_identity(tmp_path):
    a = tmp_path / "a.txt"
    a.write_text("x")
    os.link(a, tmp_path / "hard.txt")
    (tmp_path / "soft.txt").symlink_to(a)
    (tmp_path / "dir").mkdir()
    (tmp_path / "via").symlink_to(tmp_path / "dir")
    assert same_file(a, tmp_path / "hard.txt") and same_file(a, tmp_path / "soft.txt")
    assert same_file(a, tmp_path / "dir" / ".." / "a.txt")
    assert same_file(tmp_path / "dir" / "new.wav", tmp_path / "via" / "new.wav")  # neither exists yet
    assert same_file(Path("rel.wav"), Path.cwd() / "rel.wav")
    b = tmp_path / "b.txt"
    b.write_text("x")  # same content, another file
    assert not same_file(a, b) and not same_file(a, tmp_path / "new.txt")


def test_clashes_name_both_flags(tmp_path):
    out = Named("-o", tmp_path / "x.wav")
    with pytest.raises(OutputError, match=r"^--srt and -o name the same file"):
        check_clashes([Named("--srt", tmp_path / "x.wav"), out], [])
    with pytest.raises(OutputError, match=r"^-o and --voice name the same file .*Choose another path for -o\.$"):
        check_clashes([out], [Named("--voice", tmp_path / "x.wav")])
    check_clashes([out, Named("--manifest", tmp_path / "x.json")], [Named("--voice", tmp_path / "v.wav")])


def test_dev_stdout_is_streaming():
    assert stream_alias("/dev/stdout") == "-" and Delivery("/dev/stdout").output == "-"
    assert Delivery("/dev/stdout").format == "wav" and stream_alias("out.wav") == "out.wav"


def test_split_chapter_files_are_checked_against_inputs(tmp_path):
    script = parse_markdown("# One\n\nHi.\n\n# Two\n\nHo.\n")
    (tmp_path / "02-two.wav").write_bytes(b"voice")
    delivery = Delivery(str(tmp_path), split_chapters=True)
    assert [p.name for p in delivery.chapter_paths(["One", "Two"])] == ["01-one.wav", "02-two.wav"]
    inputs = run_inputs(script, {None: VoicePrompt(tmp_path / "02-two.wav")}, None, None, None)
    with pytest.raises(OutputError, match="^the chapter file 02-two.wav and --voice name the same file"):
        delivery.check_run(inputs, ["One", "Two"])
    delivery.check_run(inputs, ["One"])


def test_a_long_output_name_still_has_room_for_its_temporary_name(tmp_path):
    out = tmp_path / ("a" * 251 + ".wav")
    Delivery(str(out)).check()
    write_bytes_atomic(out, b"audio")
    assert out.read_bytes() == b"audio" and os.listdir(tmp_path) == [out.name]


def test_writes_go_through_links_and_never_onto_a_fifo(tmp_path):
    target = tmp_path / "real.wav"
    target.write_bytes(b"old")
    (tmp_path / "link.wav").symlink_to(target)
    write_bytes_atomic(tmp_path / "link.wav", b"new")
    assert (tmp_path / "link.wav").is_symlink() and target.read_bytes() == b"new"
    os.mkfifo(tmp_path / "pipe.wav")  # appeared after the checks, before the write
    with pytest.raises(OutputError, match="is a FIFO"):
        write_bytes_atomic(tmp_path / "pipe.wav", b"new")
    assert sorted(os.listdir(tmp_path)) == ["link.wav", "pipe.wav", "real.wav"]


def test_a_reader_that_stops_early_is_an_error():
    read_end, write_end = os.pipe()
    got = []
    reader = threading.Thread(target=lambda: (got.append(os.read(read_end, 100)), os.close(read_end)))
    reader.start()
    with os.fdopen(write_end, "wb", buffering=0) as stream, pytest.raises(StreamClosed) as info:
        write_stream(b"x" * 400_000, stream)  # more than a pipe holds
    reader.join()
    assert len(got[0]) == 100 and info.value.exit_code == 141
    assert str(info.value) == ("stdout closed before all 400,000 bytes were written (the program reading it stopped "
                               "early); the output is incomplete.")


def test_a_reader_that_stops_early_is_an_error_even_when_the_pipe_holds_everything():
    read_end, write_end = os.pipe()
    reader = threading.Thread(target=lambda: (time.sleep(0.2), os.read(read_end, 100), os.close(read_end)))
    reader.start()
    with os.fdopen(write_end, "wb", buffering=0) as stream, pytest.raises(StreamClosed):
        write_stream(b"x" * 1000, stream)  # fits in the pipe: written at once, but never all read
    reader.join()


def test_a_reader_that_takes_everything_is_fine():
    read_end, write_end = os.pipe()
    got = []
    reader = threading.Thread(target=lambda: (time.sleep(0.2), got.append(os.read(read_end, 2000))))
    reader.start()
    with os.fdopen(write_end, "wb", buffering=0) as stream:
        write_stream(b"x" * 1000, stream)
    reader.join()
    os.close(read_end)
    assert got == [b"x" * 1000]
