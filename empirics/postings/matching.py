"""Tables of the title-matching stage: ``title_matches.csv``, ``unmatched.csv`` and the matching figures of
``report.json``."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .titles import TitleMatcher


def _title_matches(titles, codes, scores, counts=None, res=None) -> pd.DataFrame:
    """The ``title_matches.csv`` table: each distinct title without a code, its matched fine code
    (missing: unmatched, or matching off), the best fine occupation's score (0 when matching is
    off), the number of postings with the title (``n_postings``, missing when matching is off) and
    ``unmatched_reason`` (empty when matched; ``empty``, ``no_cjk``, ``below_threshold``)."""
    import pandas as pd

    n = len(titles)
    return pd.DataFrame({"title": titles.to_numpy(dtype=object),
                         "matched_code": pd.Series([None] * n, dtype=object) if codes is None else codes.to_numpy(dtype=object),
                         "match_score": 0.0 if scores is None else scores.to_numpy(),
                         "n_postings": pd.array([None] * n if counts is None else counts.to_numpy(), dtype="Int64"),
                         "unmatched_reason": pd.Series([None] * n, dtype=object) if res is None else res["unmatched_reason"].to_numpy(dtype=object)})


def _with_min_score(matcher: TitleMatcher, min_score: float) -> TitleMatcher:
    """``matcher`` with another confidence threshold (a shallow copy sharing its matrices)."""
    import copy
    from dataclasses import replace

    m = copy.copy(matcher)
    m.weights = replace(matcher.weights, min_score=float(min_score))
    return m


def _unmatched_table(matcher: TitleMatcher, tcount: pd.DataFrame, res: pd.DataFrame | None) -> pd.DataFrame:
    """``unmatched.csv``: each distinct title left unmatched (no CJK character, empty once cleaned,
    or best score below the threshold) with its number of postings, the reason and its three best
    guesses (code, OCD title, score), most postings first."""
    import pandas as pd

    cols = ["title", "title_clean", "n_postings", "unmatched_reason", "best_score"]
    if res is None or not len(res):
        g = matcher.guesses([], k=3)
        return pd.DataFrame(columns=cols + list(g.columns))
    um = ~res["matched"].to_numpy(bool)
    base = pd.DataFrame({"title": tcount["title"].to_numpy(dtype=object)[um], "title_clean": res["title_clean"].to_numpy(dtype=object)[um],
                         "n_postings": tcount["n"].to_numpy()[um].astype("int64"),
                         "unmatched_reason": res["unmatched_reason"].to_numpy(dtype=object)[um],
                         "best_score": res["fine_score"].to_numpy(float)[um]})
    g = matcher.guesses(base["title"].tolist(), k=3)
    out = pd.concat([base.reset_index(drop=True), g], axis=1)
    return out.sort_values(["n_postings", "title"], ascending=[False, True], kind="stable").reset_index(drop=True)


def _title_stats(tcount: pd.DataFrame, res: pd.DataFrame | None, threshold: float) -> dict:
    """Title matching in numbers for ``report.json``. Postings are those that needed a match (no
    code, every other rule passed); ``share_matched`` is the share whose title was matched (they
    enter the aggregates at every level through their best fine occupation) and
    ``share_trusted_by_level[L]`` the share whose match is also trusted at L or finer (the matcher's
    probability mass at L clears that level's threshold, as for ``match-titles``)."""
    from .titles import LEVELS

    n = tcount["n"].to_numpy().astype("int64") if len(tcount) else None
    total = int(n.sum()) if n is not None else 0
    out = {"threshold": float(threshold), "titles": int(len(tcount)), "postings": total}
    if res is None or total == 0:
        out.update({"titles_matched": 0, "postings_matched": 0, "share_matched": None,
                    "postings_unmatched_by_reason": {}, "titles_without_cjk": 0, "postings_without_cjk": 0,
                    "share_trusted_by_level": {lv: None for lv in LEVELS}})
        return out
    ok = res["matched"].to_numpy(bool)
    why = res["unmatched_reason"].to_numpy(dtype=object)
    rank = {lv: i for i, lv in enumerate(LEVELS)}
    tr = res["level"].map(lambda x: rank.get(x, -1)).to_numpy()
    out.update({
        "titles_matched": int(ok.sum()),
        "postings_matched": int(n[ok].sum()),
        "share_matched": float(n[ok].sum() / total),
        "postings_unmatched_by_reason": {r: int(n[why == r].sum()) for r in ("below_threshold", "no_cjk", "empty")},
        "titles_without_cjk": int((why == "no_cjk").sum()),
        "postings_without_cjk": int(n[why == "no_cjk"].sum()),
        "share_trusted_by_level": {lv: float(n[ok & (tr >= i)].sum() / total) for i, lv in enumerate(LEVELS)},
    })
    return out
