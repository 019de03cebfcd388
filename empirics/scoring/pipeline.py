"""The scoring pipeline: config -> units -> calls (cached) -> tidy score tables."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from .cache import Cache
from .config import RunConfig
from .occupations import OccupationTable, Unit, iter_units, load_csv_table, load_ocd2022
from .runner import CallSpec, RunStats, plan_calls, run_calls
from .scores import (
    ScoreWeights,
    combined_scores,
    composite_exposure,
    consistency_table,
    labels_frame,
    modal_categories,
    occupation_scores,
    unit_scores,
)
from .templates import RubricTemplate, load_template

_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")
#: Completion tokens assumed per answer in the dry-run estimate (a label and one sentence in JSON).
COMPLETION_TOKENS_ESTIMATE = 60


def estimate_tokens(text: str) -> int:
    """Rough token count: one per CJK character, one per four other characters."""
    cjk = len(_CJK.findall(text))
    return cjk + (len(text) - cjk + 3) // 4


def load_table(cfg: RunConfig) -> OccupationTable:
    src = cfg.occupations
    if src.source == "ocd2022":
        table = load_ocd2022()
    else:
        table = load_csv_table(cfg.path(src.path or ""), src.columns, core_values=src.core_values,
                               core_weight=src.core_weight, other_weight=src.other_weight, encoding=src.encoding)
    return table.select(exclude_large_groups=src.exclude_large_groups, codes=src.codes, limit=src.limit)


@dataclass(frozen=True)
class Plan:
    table: OccupationTable
    units: tuple[Unit, ...]
    template: RubricTemplate
    specs: tuple[CallSpec, ...]
    composite_template: RubricTemplate | None
    composite_specs: tuple[CallSpec, ...]

    @property
    def all_specs(self) -> tuple[CallSpec, ...]:
        return self.specs + self.composite_specs


def make_plan(cfg: RunConfig) -> Plan:
    table = load_table(cfg)
    units = tuple(iter_units(table, cfg.granularity))
    base = Path(cfg.base_dir)
    template = load_template(cfg.template, base)
    specs = tuple(plan_calls(cfg.endpoints, template, units, cfg.repeats))
    ctpl, cspecs = None, ()
    if cfg.composite is not None:
        ctpl = load_template(cfg.composite.template, base)
        if ctpl.kind != "category":
            from .errors import ConfigError

            raise ConfigError(f"composite.template: {ctpl.path} has kind {ctpl.kind!r}, expected 'category'")
        cspecs = tuple(plan_calls(cfg.endpoints, ctpl, units, cfg.composite.repeats))
    return Plan(table, units, template, specs, ctpl, cspecs)


@dataclass(frozen=True)
class DryRun:
    calls: int
    cached: int
    to_send: int
    prompt_tokens: int
    completion_tokens: int
    per_endpoint: dict[str, dict[str, int]]
    retry_invalid: int = 0

    def lines(self) -> list[str]:
        out = [
            f"calls planned: {self.calls}  already cached: {self.cached}  to send: {self.to_send}"
            + (f" (of them {self.retry_invalid} stored as invalid, to be asked again)" if self.retry_invalid else ""),
            f"estimated tokens to send: ~{self.prompt_tokens + self.completion_tokens:,} "
            f"(prompt ~{self.prompt_tokens:,}, completion ~{self.completion_tokens:,})",
        ]
        for ep, d in self.per_endpoint.items():
            out.append(f"  {ep}: {d['to_send']} calls, ~{d['tokens']:,} tokens")
        return out


def dry_run(cfg: RunConfig, plan: Plan | None = None, *, retry_invalid: bool = False) -> DryRun:
    """Count calls and estimate tokens without sending anything (reads the cache if it exists).

    With ``retry_invalid`` the calls stored as invalid count as calls to send.
    """
    plan = plan or make_plan(cfg)
    cache_path = cfg.path(cfg.cache)
    done: set = set()
    invalid: set = set()
    if cache_path.is_file():
        with Cache(cache_path) as cache:
            done = cache.completed_keys()
            if retry_invalid:
                invalid = cache.completed_keys(status="invalid")
                done -= invalid
    ptoks: dict[tuple[str, str], int] = {}
    per_ep: dict[str, dict[str, int]] = {e.name: {"to_send": 0, "tokens": 0} for e in cfg.endpoints}
    prompt = completion = cached = 0
    for s in plan.all_specs:
        if s.key in done:
            cached += 1
            continue
        pk = (s.template.sha256, s.unit.unit_id)
        if pk not in ptoks:
            ptoks[pk] = sum(estimate_tokens(m["content"]) + 4 for m in s.template.render(s.unit))
        c = min(COMPLETION_TOKENS_ESTIMATE, s.endpoint.max_tokens or COMPLETION_TOKENS_ESTIMATE)
        prompt += ptoks[pk]
        completion += c
        per_ep[s.endpoint.name]["to_send"] += 1
        per_ep[s.endpoint.name]["tokens"] += ptoks[pk] + c
    n = len(plan.all_specs)
    n_invalid = sum(1 for s in plan.all_specs if s.key in invalid)
    return DryRun(n, cached, n - cached, prompt, completion, per_ep, n_invalid)


def run(cfg: RunConfig, *, progress: bool = False, write: bool = True,
        retry_invalid: bool = False) -> tuple[RunStats, list[Path]]:
    """Send the missing calls (and, with ``retry_invalid``, those stored as invalid), then
    (if ``write``) write the score tables.

    Returns the run's statistics and the files written.
    """
    plan = make_plan(cfg)
    with Cache(cfg.path(cfg.cache)) as cache:
        stats = run_calls(plan.all_specs, cache, max_invalid_answers=cfg.max_invalid_answers, seed=cfg.seed,
                          progress=progress, retry_invalid=retry_invalid)
        paths = write_outputs(cfg, plan, cache, stats) if write else []
    return stats, paths


def _write(df, out: Path, name: str, written: list[Path]) -> None:
    for fmt in ("parquet", "csv"):
        p = out / f"{name}.{fmt}"
        if fmt == "parquet":
            df.to_parquet(p, index=False)
        else:
            df.to_csv(p, index=False)
        written.append(p)


def score_tables(cfg: RunConfig, plan: Plan, cache: Cache) -> dict:
    """The tidy tables of a run, computed from the cache (only this plan's units and endpoints)."""
    weights = ScoreWeights.from_mapping(cfg.weights)
    wanted = {s.key for s in plan.all_specs}
    recs = [r for r in cache.records([plan.template.sha256]) if r.key in wanted]
    labels = labels_frame(recs, weights, plan.template.kind)
    meta = plan.table.to_frame()[["code", "title", "large_code", "medium_code", "small_code"]].rename(
        columns={"code": "occupation_code"})
    tables = {"labels": labels}
    if plan.template.kind == "category":
        return tables
    order = plan.template.labels if plan.template.kind == "exposure" else ()
    units = unit_scores(labels, order)
    tables["unit_scores"] = units
    task_w = {u.unit_id: u.weight for u in plan.units}
    occ = occupation_scores(units, task_w)
    tables["scores"] = occ.merge(meta, on="occupation_code", how="left") if not occ.empty else occ
    if not occ.empty:
        tables["combined"] = combined_scores(occ).merge(meta, on="occupation_code", how="left")
        tables["consistency"] = consistency_table(units)
    if plan.composite_template is not None:
        crecs = [r for r in cache.records([plan.composite_template.sha256]) if r.key in wanted]
        clabels = labels_frame(crecs, kind="category")
        cats = modal_categories(clabels, plan.composite_template.labels)
        tables["composite_labels"] = clabels
        tables["composite_units"] = cats
        if not units.empty and not cats.empty:
            tables["composite"] = composite_exposure(units, cats, plan.composite_template.labels)
    return tables


def write_outputs(cfg: RunConfig, plan: Plan, cache: Cache, stats: RunStats | None = None) -> list[Path]:
    out = cfg.path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, df in score_tables(cfg, plan, cache).items():
        _write(df, out, name, written)
    manifest = {
        "template": {"ident": plan.template.ident, "sha256": plan.template.sha256},
        "composite_template": None if plan.composite_template is None else {
            "ident": plan.composite_template.ident, "sha256": plan.composite_template.sha256},
        "granularity": cfg.granularity,
        "repeats": cfg.repeats,
        "weights": cfg.weights,
        # no key, header or query values: only the names (and the variables they come from)
        "endpoints": [{"name": e.name, "model": e.model, "base_url": e.base_url, "temperature": e.temperature,
                       "api_key_env": e.api_key_env, "headers": sorted(e.headers), "query": sorted(e.query),
                       "env_vars": sorted({v for _, v in e.env_vars()})} for e in cfg.endpoints],
        "n_units": len(plan.units),
        "stats": stats.as_dict() if stats is not None else None,
    }
    p = out / "manifest.json"
    p.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    written.append(p)
    return written
