"""The persistent compilation cache and the compiled-program cache (simulator.execution.aot):
results bit-identical cold and warm; a corrupt cache or an unwritable folder gives a warning,
never a crash; an entry's key covers what fixes the program."""
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from simulator.execution import cache_dir, enable_compilation_cache

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import sys, warnings
    import jax, numpy as np
    from simulator import Economy, ScalingLLM, SolverOptions, TraditionalAI, solve, solve_batch
    from simulator.execution import aot, enable_compilation_cache
    assert str(enable_compilation_cache(sys.argv[1])) == sys.argv[1]
    rng = np.random.default_rng(0)
    n = 24
    economy = Economy(eta=rng.uniform(0.5, 2.0, n), A_H=rng.uniform(1.0, 2.0, n), H=rng.uniform(0.3, 1.5, n))
    tech = ScalingLLM(A_bar=3.0, G=10 ** rng.uniform(8, 12, n), N_bar=10 ** rng.uniform(9, 13, n), I_lo=rng.uniform(0.0, 0.8, n), I_hi=0.95)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        batch = solve_batch(economy, [tech], options=SolverOptions(method="analytic"))
        point = solve(Economy(eta=1.0, A_H=1.5, H=0.6), [ScalingLLM(A_bar=3.0, G=1e10, N_bar=1e11, I_lo=0.6, I_hi=0.9)])
        general = solve_batch(economy, [TraditionalAI(A_bar=2.0, mu=2.0, F=1.2), tech],
                              options=SolverOptions(method="discretized", n_tasks=64, accuracy=0.1))
    leaves = [np.asarray(v) for v in jax.tree_util.tree_leaves((batch, point, general))]
    np.savez(sys.argv[2], *leaves)
    print(aot.stats["loaded"], aot.stats["compiled"], aot.stats["rejected"],
          sum("compiled-program cache" in str(w.message) for w in caught),
          sum("persistent compilation cache" in str(w.message) for w in caught))
""")


def _run(cache: Path, out: Path) -> tuple[list[np.ndarray], str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(cache), str(out)], capture_output=True, text=True, env=env,
                         timeout=600, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]
    with np.load(out) as data:
        return [data[k] for k in sorted(data.files, key=lambda k: int(k.split("_")[1]))], run.stdout


def _entries(cache: Path) -> list[Path]:
    return [p for p in cache.rglob("*") if p.is_file() and not p.name.startswith(".")]


def _assert_identical(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.dtype == y.dtype and x.shape == y.shape
        np.testing.assert_array_equal(x, y)


def _counts(out: str) -> dict:
    loaded, compiled, rejected, aot_warnings, xla_warnings = map(int, out.split()[-5:])
    return dict(loaded=loaded, compiled=compiled, rejected=rejected, aot_warnings=aot_warnings, xla_warnings=xla_warnings)


def test_results_are_bit_identical_with_the_cache_cold_warm_and_corrupt(tmp_path):
    cache = tmp_path / "cache"
    cold, out = _run(cache, tmp_path / "cold.npz")
    counts = _counts(out)
    # the batch programs of both routes and the single point's are stored whole
    assert counts["loaded"] == 0 and counts["compiled"] >= 3 and counts["aot_warnings"] == 0, out
    entries = _entries(cache)
    assert len(list((cache / "aot").glob("*.bin"))) == counts["compiled"]
    ten_days_ago = time.time() - 10 * 86400
    for path in (cache / "aot").glob("*.bin"):
        os.utime(path, (ten_days_ago, ten_days_ago))
    warm, out = _run(cache, tmp_path / "warm.npz")
    assert _counts(out)["loaded"] == counts["compiled"] and _counts(out)["compiled"] == 0, out  # nothing traced again
    assert all(p.stat().st_mtime > ten_days_ago + 86400 for p in (cache / "aot").glob("*.bin"))  # marked as used
    assert sorted(_entries(cache)) == sorted(entries)  # every program came from the cache
    _assert_identical(warm, cold)
    # a corrupt cache (every entry overwritten with garbage, and a stray file): warnings, the same results
    for path in entries:
        path.write_bytes(os.urandom(64))
    (cache / "stray-entry-cache").write_bytes(b"not a compiled program")
    corrupt, out = _run(cache, tmp_path / "corrupt.npz")
    counts_corrupt = _counts(out)
    assert counts_corrupt["xla_warnings"] > 0, out  # the unreadable entries were reported
    assert counts_corrupt["rejected"] == counts_corrupt["aot_warnings"] == counts["compiled"], out
    _assert_identical(corrupt, cold)
    # the rejected entries were written again, and load in the next process
    again, out = _run(cache, tmp_path / "again.npz")
    assert _counts(out)["loaded"] == counts["compiled"] and _counts(out)["rejected"] == 0, out
    _assert_identical(again, cold)
    # one flipped byte deep inside each program (the pickle still parses): caught by the checksum
    for path in (cache / "aot").glob("*.bin"):
        blob = bytearray(path.read_bytes())
        blob[len(blob) // 2] ^= 0xFF
        path.write_bytes(bytes(blob))
    flipped, out = _run(cache, tmp_path / "flipped.npz")
    assert _counts(out)["rejected"] == counts["compiled"], out
    _assert_identical(flipped, cold)


def test_an_entry_key_covers_versions_source_and_arguments(monkeypatch):
    import jax

    from simulator.execution import aot

    args = (jax.ShapeDtypeStruct((8,), np.float64),)
    base = aot.key("program", args)
    assert aot.key("program", args) == base
    assert aot.key("other program", args) != base
    assert aot.key("program", (jax.ShapeDtypeStruct((16,), np.float64),)) != base
    assert aot.key("program", (jax.ShapeDtypeStruct((8,), np.float32),)) != base
    monkeypatch.setattr(jax, "__version__", "0.0.1")
    assert aot.key("program", args) != base
    monkeypatch.undo()
    monkeypatch.setattr(aot, "source_fingerprint", lambda: "edited engine")
    assert aot.key("program", args) != base
    monkeypatch.undo()
    monkeypatch.setattr(aot, "host", lambda: "x86_64|another processor|sse2")
    assert aot.key("program", args) != base


def test_programs_named_by_an_address_are_not_stored(tmp_path):
    import jax

    from simulator.execution import aot, cache

    assert enable_compilation_cache(tmp_path / "cache") == tmp_path / "cache"
    try:
        double = jax.jit(lambda v: 2.0 * v)
        args = (jax.ShapeDtypeStruct((4,), np.float64),)
        program = aot.compiled(f"double|{double}", double, args)  # the repr holds " at 0x..."
        np.testing.assert_array_equal(program(np.arange(4.0)), 2.0 * np.arange(4.0))
        assert not (tmp_path / "cache" / "aot").exists()
        aot.compiled("double", double, args)
        assert len(list((tmp_path / "cache" / "aot").glob("*.bin"))) == 1
    finally:
        cache.disable_compilation_cache()


def test_an_unwritable_cache_folder_is_a_warning(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder should be")
    with pytest.warns(RuntimeWarning, match="compilation cache off: cannot write to"):
        assert enable_compilation_cache(blocker / "jax") is None


def test_default_cache_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("LLM_LABOR_CACHE_DIR", str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("LLM_LABOR_CACHE_DIR")
    assert cache_dir() == tmp_path / "xdg" / "llm-labor" / "jax"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "llm-labor" / "jax"


def test_cache_command_reports_and_clears_only_cache_entries(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from llm_labor.cli import app

    folder = tmp_path / "cache"
    (folder / "aot").mkdir(parents=True)
    entries = [folder / "jit_solve-0a1b-cache", folder / "jit_solve-0a1b-atime", folder / "aot" / "0a1b.bin",
               folder / "aot" / "0a1b.shapes"]
    for i, path in enumerate(entries):
        path.write_bytes(b"x" * (1000 * (i + 1)))
    kept = [folder / "notes.txt", folder / "aot" / "readme.md"]  # a user's own files in the folder are never deleted
    for path in kept:
        path.write_text("mine")
    monkeypatch.setenv("LLM_LABOR_CACHE_DIR", str(folder))
    runner = CliRunner()
    result = runner.invoke(app, ["cache"])
    assert result.exit_code == 0, result.output
    assert f"{folder}: 4 entries, 0.0 MiB" in result.output
    result = runner.invoke(app, ["cache", "--clear"])
    assert result.exit_code == 0 and f"deleted 4 entries from {folder}" in result.output, result.output
    assert not any(p.exists() for p in entries) and all(p.exists() for p in kept)
    assert "0 entries" in runner.invoke(app, ["cache"]).output


def test_entries_unused_for_a_month_are_pruned(tmp_path):
    from simulator.execution import aot

    (tmp_path / "aot").mkdir()
    now = time.time()
    ages = {"old.bin": 31, "old.shapes": 40, ".tmp-old": 31, "recent.bin": 29, "recent.shapes": 1}
    for name, days in ages.items():
        path = tmp_path / "aot" / name
        path.write_bytes(b"x")
        os.utime(path, (now - days * 86400, now - days * 86400))
    (tmp_path / "aot" / "notes.txt").write_text("not an entry")
    os.utime(tmp_path / "aot" / "notes.txt", (now - 400 * 86400, now - 400 * 86400))
    assert aot.prune(tmp_path, now=now) == 3
    assert sorted(p.name for p in (tmp_path / "aot").iterdir()) == ["notes.txt", "recent.bin", "recent.shapes"]
