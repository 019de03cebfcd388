"""Command-line commands of this subpackage: ``llm-labor empirics report``."""
from __future__ import annotations

from pathlib import Path
from enum import Enum
from typing import Optional

import typer

from llm_labor.common.cli import command_group

from .errors import AggregationError

GROUP = "empirics"


class Encoding(str, Enum):
    """Encodings ``--encoding`` accepts."""

    utf8 = "utf-8"
    gbk = "gbk"
    gb18030 = "gb18030"


def _fail(message: str) -> None:
    """Print one ``error:`` line (no traceback) and exit 2."""
    typer.echo(f"error: {' '.join(str(message).split())}", err=True)
    raise typer.Exit(2)


def _guarded(fn, files: str = "input"):
    """Run ``fn``; input errors, undecodable or unreadable files end in one ``error:`` line and exit 2."""
    import pandas as pd

    try:
        return fn()
    except AggregationError as e:
        _fail(str(e))
    except UnicodeDecodeError as e:
        _fail(f"{files}: not UTF-8 text ({e.reason} at byte {e.start}); save it as UTF-8")
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as e:
        _fail(f"{files}: not a readable CSV ({e})")
    except OSError as e:
        _fail(f"{e.filename or files}: {e.strerror or e}")


def register(app: typer.Typer) -> None:
    """Add this subpackage's commands to the root ``llm-labor`` app."""
    group = command_group(app, GROUP, "Exposure empirics: aggregation and reports.")

    @group.command("report")
    def report(
        out: Path = typer.Option(Path("empirics-report"), "--out", "-o", help="Output folder."),
        scores: Optional[Path] = typer.Option(None, "--scores", help="Tidy CSV with columns code, model, score [, weight]; default: the paper's Table 2."),
        level: str = typer.Option("fine", "--level", help="OCD 2022 level of the codes in --scores (fine, small, medium)."),
        method: str = typer.Option("fine_mean", "--method", help="fine_mean (paper) or child_mean."),
        lang: str = typer.Option("en", "--lang", help="Occupation labels in figures: en, zh or both."),
        age_table: Optional[Path] = typer.Option(None, "--age-table", help="CSV age_group, industry, employment (industry IDs 1-15 or GB/T section letters)."),
        n_boot: int = typer.Option(2000, "--n-boot", help="Bootstrap resamples."),
        seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
        us: bool = typer.Option(True, "--us/--no-us", help="Run the US replication path when the shared data is present."),
        encoding: Encoding = typer.Option(Encoding.utf8, "--encoding", help="Encoding of --scores and --age-table."),
        require_complete: bool = typer.Option(False, "--require-complete", help="Fail (exit 2) unless every medium category of the paper is scored by every model; by default the report covers what it can and says what is missing."),
    ) -> None:
        """Write Table 1, industry scores, the US summary, Figures 1, 2, 6, 10, 11, 12, 15 and report.md."""
        from .report import ReportConfig, build_report

        cfg = ReportConfig(
            out_dir=str(out), scores=str(scores) if scores else None, scores_level=level, method=method, lang=lang,
            n_boot=n_boot, seed=seed, age_table=str(age_table) if age_table else None, us=us,
            encoding=encoding.value, require_complete=require_complete,
        )
        res = _guarded(lambda: build_report(cfg), files=" / ".join(str(p) for p in (scores, age_table) if p) or "input")
        if not res.headline.get("complete", True):
            typer.echo("note: partial coverage, the report covers the scored categories; see 'Coverage of the scores' in report.md", err=True)
        for section, reason in res.skipped.items():
            typer.echo(f"note: {section} skipped: {' '.join(reason.split())}", err=True)
        typer.echo(f"wrote {len(res.files)} files to {res.out_dir}")

    @group.command("china")
    def china(
        out: Path = typer.Option(Path("outputs/china"), "--out", "-o", help="Output folder."),
        source: str = typer.Option("llm", "--source", help="Exposure written to the moments files: llm (combined), glm, internlm, gpt4 or expert."),
        n_boot: int = typer.Option(9999, "--n-boot", help="Wild cluster bootstrap draws."),
        n_perm: int = typer.Option(9999, "--n-perm", help="Within-section permutations."),
        seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap and the permutations."),
        national_wages: Optional[Path] = typer.Option(None, "--national-wages", help="CSV year, ocd_large_category, avg_annual_wage_yuan; default: the bundled NBS table."),
        industry_wages: Optional[Path] = typer.Option(None, "--industry-wages", help="CSV section, managers_1, professionals_2, clerks_3, services_4, production_6; default: the bundled NBS 2017 table."),
    ) -> None:
        """China on official wages: NBS post-group wages against exposure, nationally and within industries; moments files for calibration."""
        from .china import china_relation, load_industry_wages, load_national_wages, write_outputs
        from .data import BY_INDUSTRY_WAGES, NATIONAL_WAGES, TABLE2, TABLE4, bundled_path
        from .provenance import Provenance

        if n_boot < 1 or n_perm < 1:
            raise typer.BadParameter("--n-boot and --n-perm must be at least 1")

        def go():
            nw = load_national_wages(national_wages)
            iw = load_industry_wages(industry_wages)
            rel = china_relation(national_wages=nw, industry_wages=iw, n_boot=n_boot, n_perm=n_perm, seed=seed)
            if source not in rel.sources:
                raise typer.BadParameter(f"--source must be one of {list(rel.sources)}, got {source!r}")
            inputs = {"table2": bundled_path(TABLE2), "table4": bundled_path(TABLE4),
                      "nbs_national": national_wages or bundled_path(NATIONAL_WAGES), "nbs_by_industry": industry_wages or bundled_path(BY_INDUSTRY_WAGES)}
            prov = Provenance.build("llm-labor empirics china", {"source": source, "n_boot": n_boot, "n_perm": n_perm, "seed": seed}, inputs)
            return rel, write_outputs(rel, out, source=source, provenance=prov)

        rel, files = _guarded(go, files=" / ".join(str(p) for p in (national_wages, industry_wages) if p) or "bundled wage tables")
        st = rel.within[(source, "weighted")]
        typer.echo(f"within industries, 2017, {source}, weighted: slope {st.slope:.3f} (CR1 se {st.se:.3f}, {st.n} cells, "
                   f"{st.clusters} sections, df {st.df}; p_wild {st.p_boot:.3g}, p_perm {st.p_perm:.3g}): {st.verdict()}")
        typer.echo(f"wrote {len(files)} files to {out}")
