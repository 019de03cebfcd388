"""Command-line commands: ``llm-labor postings synth|process|relate|match-titles|eval-titles``."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.progress import Progress

from llm_labor.common.cli import command_group
from llm_labor.common.errors import LLMLaborError

from .errors import ConfigError, DataNotFoundError, InputError, PostingsError

GROUP = "postings"


def _fail(e: Exception) -> None:
    typer.echo(f"error: {e}", err=True)
    raise typer.Exit(2) from e


def title_report_lines(tm: dict | None) -> list[str]:
    """Lines on title matching for the console, from ``report.json``'s ``title_matching``."""
    if not tm or not tm.get("postings"):
        return []
    lines = [f"titles matched: {tm['postings_matched']:,} of {tm['postings']:,} postings ({tm['share_matched']:.1%}) "
             f"without a code, at score >= {tm['threshold']:g}; unmatched in unmatched.csv: "
             + ", ".join(f"{k} {v:,}" for k, v in tm["postings_unmatched_by_reason"].items() if v)]
    if tm.get("postings_without_cjk"):
        lines.append(f"  titles without CJK characters (not matched): {tm['titles_without_cjk']:,} titles, {tm['postings_without_cjk']:,} postings")
    lines.append("  share of those postings trusted at each level: " + ", ".join(
        f"{lv} {tm['share_trusted_by_level'][lv]:.1%}" for lv in ("large", "medium", "small", "fine")
        if tm["share_trusted_by_level"].get(lv) is not None))
    return lines


def register(app: typer.Typer) -> None:
    """Add the ``postings`` group to the root ``llm-labor`` app."""
    group = command_group(app, GROUP, "Job postings: synthetic data, processing, title matching, relations to exposure.")

    @group.command("synth")
    def synth(
        rows: int = typer.Option(1_000_000, "--rows", help="Number of postings to write."),
        seed: int = typer.Option(0, "--seed", help="Seed of the numpy Generator."),
        out: Path = typer.Option(Path("postings-synth"), "--out", "-o", help="Output folder."),
        chunk_rows: int = typer.Option(1_000_000, "--chunk-rows", help="Rows per Parquet file (bounds memory)."),
        missing_code_share: float = typer.Option(0.30, "--missing-code-share", help="Share of postings without an occupation code."),
        duplicate_rate: float = typer.Option(0.20, "--duplicate-rate", help="Share of valid postings that are re-posts."),
        junk_share: float = typer.Option(0.01, "--junk-share", help="Share of rows with one defect."),
    ) -> None:
        """Generate synthetic postings with known truth (see docs/postings.md for the process)."""
        from .synth import SynthConfig, generate

        cfg = SynthConfig(rows=rows, seed=seed, chunk_rows=chunk_rows, missing_code_share=missing_code_share,
                          duplicate_rate=duplicate_rate, junk_share=junk_share)
        try:
            if out.exists() and not out.is_dir():
                raise PostingsError(f"--out {out} is a file; give a folder for the synthetic postings")
            with Progress(transient=True) as prog:
                task = prog.add_task("generating", total=rows)
                res = generate(cfg, out, progress=lambda done, total: prog.update(task, completed=done))
        except PostingsError as e:
            _fail(e)
        typer.echo(f"wrote {res.truth['rows']:,} postings in {len(res.files)} files to {res.out_dir / 'postings'}; truth in {res.out_dir / 'truth.json'}")

    @group.command("process")
    def process_cmd(
        inputs: List[Path] = typer.Argument(..., help="Parquet or CSV files, folders or glob patterns."),
        out: Path = typer.Option(Path("postings-processed"), "--out", "-o", help="Output folder."),
        no_match: bool = typer.Option(False, "--no-match", help="Do not match titles; rows without a code are quarantined."),
        window_days: int = typer.Option(30, "--window-days", help="Duplicate window in days."),
        memory_limit: str = typer.Option("3GB", "--memory-limit", help="DuckDB memory limit."),
        threads: Optional[int] = typer.Option(None, "--threads", help="DuckDB threads (default: all cores)."),
        medians: bool = typer.Option(True, "--medians/--no-medians", help="Compute median wages (needs memory for one level at a time)."),
        encoding: str = typer.Option("utf-8", "--encoding", help="Encoding of CSV input: utf-8, gbk or gb18030."),
        max_line_bytes: int = typer.Option(2_000_000, "--max-line-bytes", help="CSV lines longer than this are quarantined (line_too_long)."),
        min_title_score: Optional[float] = typer.Option(None, "--min-title-score",
                                                        help="Confidence threshold of title matches (default 0.3; see docs/postings.md)."),
    ) -> None:
        """Validate (with quarantine), match titles, deduplicate and aggregate postings."""
        from .process import ProcessConfig, process

        cfg = ProcessConfig(window_days=window_days, match_titles=not no_match, memory_limit=memory_limit, threads=threads, medians=medians,
                            progress_bar=True, encoding=encoding, max_line_bytes=max_line_bytes, min_title_score=min_title_score)
        try:
            cfg.check()
            res = process([str(p) for p in inputs], out, cfg, progress=lambda m: typer.echo(m, err=True))
        except PostingsError as e:
            _fail(e)
        r = res.report
        b = r["balance"]
        typer.echo(f"rows in {b['rows_in']:,} = kept {b['rows_kept']:,} + quarantined {b['rows_quarantined']:,} (balanced); "
                   f"duplicates {r['duplicates']:,} ({r['duplicate_rate']:.2%}); {r['rows_per_second']:,.0f} rows/s")
        for k, v in r["quarantine_by_reason"].items():
            if v:
                typer.echo(f"  {k}: {v:,}")
        d = r["duplicate_posting_ids"]
        if d["ids"]:
            typer.echo(f"duplicate posting_ids: {d['ids']:,} ids on {d['rows']:,} rows; {d['rows_quarantined']:,} quarantined, one kept each")
        for line in title_report_lines(r.get("title_matching")):
            typer.echo(line)
        typer.echo(f"outputs in {res.out_dir}")

    @group.command("relate")
    def relate_cmd(
        processed: Optional[Path] = typer.Argument(None, help="Folder written by `postings process`."),
        exposure: Optional[Path] = typer.Option(None, "--exposure", help="Tidy CSV code, model, score at the fine OCD level."),
        out: Path = typer.Option(Path("postings-relations"), "--out", "-o"),
        level: str = typer.Option("fine", "--level", help="large, medium, small or fine."),
        period: str = typer.Option("2017-2022", "--period"),
        model: Optional[str] = typer.Option(None, "--model", help="Exposure model, if the table has several."),
        source: str = typer.Option("postings", "--source", help="postings, us (GPTs-are-GPTs x OEWS) or china-industries (NBS)."),
        n_boot: int = typer.Option(999, "--n-boot"),
        seed: int = typer.Option(0, "--seed"),
        min_postings: int = typer.Option(1, "--min-postings", help="Leave out occupations with fewer postings."),
    ) -> None:
        """Regress wages, premiums, vacancy shares and their growth on exposure; write plots and moments.json."""
        from .relate import run_china_industries, run_relate, run_us

        try:
            if source == "us":
                doc = run_us(out, n_boot=n_boot, seed=seed)
            elif source == "china-industries":
                doc = run_china_industries(out, n_boot=n_boot, seed=seed)
            elif source == "postings":
                if processed is None or exposure is None:
                    raise ConfigError("relate: give the processed folder and --exposure (or --source us / china-industries)")
                doc = run_relate(processed, exposure, out, level=level, period=period, model=model, n_boot=n_boot, seed=seed,
                                 min_postings=min_postings)
            else:
                raise ConfigError(f"relate: unknown --source {source!r}; use postings, us or china-industries")
        except LLMLaborError as e:  # also errors of empirics.aggregation on the real-data paths
            _fail(e)
        for name, fs in doc["moments"].items():
            for k, f in fs.items():
                typer.echo(f"{name} ({k}): slope {f['slope']:.4g} (se {f['se']:.3g}, CI {f['ci_low']:.4g} to {f['ci_high']:.4g}, n {f['n']})")
        cov = doc.get("postings_coverage") or {}
        for line in title_report_lines(cov.get("title_matching")):
            typer.echo(line)
        typer.echo(f"outputs in {out}")

    @group.command("match-titles")
    def match_titles(
        input_csv: Path = typer.Argument(..., help="CSV with a `title` column."),
        out: Path = typer.Option(..., "--out", "-o", help="Output CSV: the input columns plus occupation_code and score."),
        no_aliases: bool = typer.Option(False, "--no-aliases", help="Do not use the job-board aliases of the OCD table."),
        encoding: str = typer.Option("utf-8", "--encoding", help="Encoding of the CSV: utf-8, gbk or gb18030."),
    ) -> None:
        """Match job titles to OCD 2022 codes at the finest level the matcher trusts."""
        import pandas as pd

        from .titles import default_matcher

        try:
            if not input_csv.is_file():
                raise DataNotFoundError(f"match-titles: {input_csv} not found")
            if encoding not in ("utf-8", "gbk", "gb18030"):
                raise InputError(f"match-titles: --encoding must be utf-8, gbk or gb18030, got {encoding!r}")
            data = input_csv.read_bytes()
            if not data.strip():
                raise InputError(f"{input_csv}: the file is empty; it needs a header line with a column 'title'")
            try:
                data.decode(encoding)
            except UnicodeDecodeError as exc:
                line = data[: exc.start].count(b"\n") + 1
                hint = "; it may be GBK: add --encoding gbk" if encoding == "utf-8" else ""
                raise InputError(f"{input_csv}, line {line}: not {encoding} text (byte 0x{data[exc.start]:02x} at offset {exc.start}){hint}") from None
            try:
                df = pd.read_csv(input_csv, dtype=str, keep_default_na=False, encoding=encoding)
            except pd.errors.ParserError as exc:
                raise InputError(f"{input_csv}: not a readable CSV: {' '.join(str(exc).split())}") from None
            if "title" not in df.columns:
                raise InputError(f"{input_csv}: no column 'title'; it has {list(df.columns)}")
            m = default_matcher(not no_aliases)
            with Progress(transient=True) as prog:
                task = prog.add_task("matching", total=None)
                res = m.match(df["title"].tolist(), progress=lambda d, t: prog.update(task, completed=d, total=t))
        except PostingsError as e:
            _fail(e)
        df["occupation_code"] = res["occupation_code"].to_numpy()
        df["score"] = res["score"].round(4).to_numpy()
        out.parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(out, index=False)
        typer.echo(f"matched {len(df):,} titles -> {out}")

    @group.command("eval-titles")
    def eval_titles(no_aliases: bool = typer.Option(False, "--no-aliases")) -> None:
        """Accuracy of the title matcher at each level on the bundled hand-labelled titles, and
        accuracy against coverage as the confidence threshold moves."""
        from .titles import accuracy_coverage, default_matcher, evaluate

        m = default_matcher(not no_aliases)
        typer.echo(evaluate(m).to_string(index=False))
        t = accuracy_coverage(m)
        typer.echo("\naccuracy (top-1, among matched titles) against coverage by confidence threshold:")
        typer.echo(t[["threshold", "coverage", *[c for c in t.columns if c.startswith("acc_")]]].round(3).to_string(index=False))
