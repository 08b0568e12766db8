"""Exported-program store: atomic round trip, missing entries, keys and the source digest."""

from __future__ import annotations

from tccas.io.programs import program_path, read_program, source_digest, write_program


def test_round_trip_and_missing_entry(tmp_path):
    path = program_path(tmp_path / "cache", "tccas.da.assimilate:settings")
    assert read_program(path) is None
    write_program(path, b"\x00program")
    assert read_program(path) == b"\x00program"
    write_program(path, b"newer")  # replaced whole, no temporary files left behind
    assert read_program(path) == b"newer"
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_keys_and_source_digest(tmp_path):
    assert program_path(tmp_path, "a") != program_path(tmp_path, "b")
    assert program_path(tmp_path, "a") == program_path(tmp_path, "a")
    digest = source_digest()
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert source_digest() == digest
