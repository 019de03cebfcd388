"""Command-line commands of this subpackage.

``llm-labor empirics score CONFIG.yaml [--dry-run]`` scores; the full group is
``llm-labor empirics scoring {run,export,templates,occupations,bench}`` (also
``python -m empirics.scoring ...``).
"""
from __future__ import annotations

import codecs
from pathlib import Path
from typing import List, Optional

import typer

from llm_labor.common.cli import command_group

from .errors import ConfigError, EndpointError, ScoringError


def _error(message: object) -> None:
    """Print ``error: ...`` to stderr, one unwrapped line per line of the message (whatever the terminal)."""
    for line in str(message).splitlines() or [""]:
        if line.strip():
            typer.echo(f"error: {' '.join(line.split())}", err=True)


def run_command(
    config: Path = typer.Argument(..., help="Run config YAML (see docs/scoring.md)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the number of calls and a token estimate, check "
                                 "that every key variable is set; send nothing."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    retry_invalid: bool = typer.Option(False, "--retry-invalid", help="Ask again the calls stored as invalid."),
    encoding: Optional[str] = typer.Option(None, "--encoding", help="Encoding of an occupations CSV "
                                           "(occupations.source: csv), e.g. utf-8, gbk, gb18030, latin-1."),
) -> None:
    """Score the configured occupations; resume from the cache; write tidy tables (Parquet and CSV)."""
    from .config import load_config, missing_env_vars
    from .pipeline import dry_run as do_dry_run
    from .pipeline import make_plan, write_outputs
    from .cache import Cache
    from .runner import failure_summary, run_calls

    try:
        cfg = load_config(config)
        if encoding is not None:
            if cfg.occupations.source != "csv":
                raise ConfigError(f"{config}: --encoding applies to occupations.source: csv, "
                                  f"not {cfg.occupations.source!r}")
            try:
                codecs.lookup(encoding)
            except LookupError:
                raise ConfigError(f"--encoding: unknown encoding {encoding!r} (e.g. utf-8, gbk, gb18030, latin-1)"
                                  ) from None
            occ = cfg.occupations.model_copy(update={"encoding": encoding})
            cfg = cfg.model_copy(update={"occupations": occ})
        plan = make_plan(cfg)
        if dry_run:
            for line in do_dry_run(cfg, plan, retry_invalid=retry_invalid).lines():
                typer.echo(line)
            missing = missing_env_vars(cfg)
            if missing:
                raise ConfigError("\n".join(missing))
            return
        code = 0
        with Cache(cfg.path(cfg.cache)) as cache:
            try:
                stats = run_calls(plan.all_specs, cache, max_invalid_answers=cfg.max_invalid_answers,
                                  seed=cfg.seed, progress=progress, retry_invalid=retry_invalid)
            except EndpointError as exc:
                _error(exc)
                stats, code = exc.stats, 1  # type: ignore[attr-defined]
            paths = write_outputs(cfg, plan, cache, stats)
            summary = failure_summary(cache, stats)
    except ScoringError as exc:
        _error(exc)
        raise typer.Exit(2)
    except OSError as exc:
        _error(f"{getattr(exc, 'filename', None) or config}: {exc.strerror or exc}")
        raise typer.Exit(2)
    if retry_invalid:
        typer.echo(f"re-asked {stats.retried_invalid} calls stored as invalid")
    typer.echo(
        f"planned {stats.planned}, cached {stats.cached}, ok {stats.ok}, invalid {stats.invalid}, "
        f"failed {stats.failed}, requests {stats.requests}, retries {stats.retries}, tokens {stats.total_tokens}"
    )
    for line in summary:
        typer.echo(line, err=True)
    typer.echo(f"wrote {len(paths)} files to {cfg.path(cfg.output_dir)}")
    if code or stats.failed:
        raise typer.Exit(1)


def build_app() -> typer.Typer:
    """The ``scoring`` command group (also runnable as ``python -m empirics.scoring``)."""
    app = typer.Typer(add_completion=False, no_args_is_help=True,
                      help="Score occupations for LLM exposure with OpenAI-compatible endpoints.")

    app.command("run")(run_command)

    @app.command("export")
    def export_cmd(
        cache: Path = typer.Argument(..., help="Cache SQLite file."),
        out: Path = typer.Option(Path("cache-export"), "--out", help="Output folder."),
        fmt: List[str] = typer.Option(["parquet", "csv"], "--format", help="parquet and/or csv."),
    ) -> None:
        """Export the cache (calls and attempts: the audit trail) to Parquet/CSV."""
        from .cache import export_cache

        try:
            paths = export_cache(cache, out, fmt)
        except ScoringError as exc:
            _error(exc)
            raise typer.Exit(2)
        for p in paths:
            typer.echo(str(p))

    @app.command("templates")
    def templates_cmd() -> None:
        """List the bundled rubric templates with their hashes."""
        from .templates import bundled_templates, load_template

        for ident in bundled_templates():
            t = load_template(ident)
            typer.echo(f"{ident}\t{t.kind}\t{t.sha256}")

    @app.command("occupations")
    def occupations_cmd(
        out: Optional[Path] = typer.Option(None, "--out", help="Write the cleaned table to this CSV."),
    ) -> None:
        """Load the bundled OCD 2022 table and report the defects handled."""
        from collections import Counter

        from .occupations import load_ocd2022

        table = load_ocd2022()
        typer.echo(f"{len(table)} fine occupations ({sum(len(o.tasks) for o in table)} tasks)")
        for kind, n in sorted(Counter(d.kind for d in table.defects).items()):
            typer.echo(f"  {kind}: {n}")
        if out is not None:
            table.to_frame().to_csv(out, index=False)
            typer.echo(f"wrote {out}")

    return app


GROUP = "empirics"


def register(app: typer.Typer) -> None:
    """Add ``empirics score`` and the ``empirics scoring`` group to the root ``llm-labor`` app."""
    group = command_group(app, GROUP, "Exposure empirics: scoring, aggregation and reports.")
    group.command("score")(run_command)
    group.add_typer(build_app(), name="scoring")
