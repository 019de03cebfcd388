"""Offline matcher from job-posting titles to OCD 2022 occupations.

Method
------
1. **Cleaning** (:func:`clean_title`): job titles carry much besides the occupation. The rules drop
   bracketed asides that hold a place, pay, perks or digits; a company or place written before
   ``招聘`` ("贝克曼招聘钳工" -> "钳工"); pay figures ("8000-12000元", "月入3万", "10K"); place names
   (bundled ``data/cities.csv``); and perk, urgency and terms phrases (``data/title_noise.csv``:
   "日结", "急招", "五险一金", "双休", ...). What remains is lower-cased.
2. **Representation**: character n-grams (1 to 3 characters; Latin letters and digits form whole
   tokens such as ``plc`` or ``java``) with sublinear TF-IDF weights, fitted on the OCD documents.
3. **Documents** per fine occupation, each its own field: the title (without the ``S``/``L``
   markers), the aliases shipped with the table (job-board names), the small-category name, and
   the definition with the main tasks. The score of an occupation is a weighted sum of the cosine
   similarities of the cleaned title to each field, plus a bonus when the occupation title or an
   alias occurs whole inside the cleaned title.
4. **Levels**: the fine occupation with the best score is the prediction; its small, medium and
   large categories follow from the code. The *trusted* code (what ``match-titles`` writes) is
   the finest level whose best category score clears that level's threshold; categories at a
   level score the maximum over their fine occupations.
5. **Confidence threshold**: a title is *matched* only when its cleaned form has a CJK character
   and the score of its best fine occupation is at least ``MatchWeights.min_score``
   (:data:`DEFAULT_MIN_SCORE`); otherwise it is unmatched (``unmatched_reason``: ``empty``,
   ``no_cjk`` or ``below_threshold``), has no trusted code, and ``postings process`` lists it in
   ``unmatched.csv`` with its best guesses (:meth:`TitleMatcher.guesses`) instead of counting it.
   Titles without CJK characters (English titles) are never matched: the OCD documents are
   Chinese, so such a title only meets a few Latin tokens and its scores are near zero and flat,
   and the softmax then spreads its mass evenly, so that the large category with the most fine
   occupations (6) took the most mass ("Senior Software Engineer" -> large category 6 although
   its best fine guess, 2-02-10-03, was right).

Accuracy on the bundled labelled titles is computed by :func:`evaluate` and reported in
``docs/postings.md``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

from .errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

LEVELS = ("large", "medium", "small", "fine")
_LEVEL_LEN = {"large": 1, "medium": 4, "small": 7, "fine": 10}
_CODE_RE = re.compile(r"^\d-\d\d-\d\d-\d\d$")

_BRACKETS = re.compile(r"[（(【\[{<《「『]([^）)】\]}>》」』]*)[）)】\]}>》」』]")
_PAY = re.compile(
    r"(?:月入|月薪|年薪|底薪|薪资|工资|时薪|日薪)?\s*\d+(?:\.\d+)?\s*(?:[-~～至到]\s*\d+(?:\.\d+)?)?\s*"
    r"(?:[kKwW万千元块]|元/(?:月|天|时|小时|年)|/(?:月|天|时|小时|年))+(?:以上|起)?"
)
_PERCENT = re.compile(r"\d+(?:\.\d+)?\s*%")
_LEADING_COMPANY = re.compile(r"^.{0,20}?(?:招聘|诚聘|急聘|直招)(?=.{2,})")
_SEP = re.compile(r"[\s/|\\,，、;；:：+＋!！?？~～·•\-—_—=*#@&.…。\"'“”‘’]+")
_LATIN = re.compile(r"[a-z0-9]+")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_MARKER = re.compile(r"(?:L/S|S|L)$")


def _data_path(name: str) -> Path:
    return Path(str(resources.files("empirics.postings") / "data" / name))


@lru_cache(maxsize=1)
def _noise_lists() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(place names, noise phrases), longest first so that longer phrases are removed first."""
    import csv

    with open(_data_path("cities.csv"), encoding="utf-8") as fh:
        places = [r["name"].strip() for r in csv.DictReader(fh) if r["name"].strip()]
    with open(_data_path("title_noise.csv"), encoding="utf-8") as fh:
        phrases = [r["phrase"].strip() for r in csv.DictReader(fh) if r["phrase"].strip()]
    key = lambda s: (-len(s), s)  # noqa: E731
    return tuple(sorted(set(places), key=key)), tuple(sorted(set(phrases), key=key))


@lru_cache(maxsize=1)
def _noise_regex() -> tuple[re.Pattern, re.Pattern]:
    places, phrases = _noise_lists()
    place_re = re.compile("|".join(re.escape(p) + r"(?:市|省|区|县)?" for p in places))
    phrase_re = re.compile("|".join(re.escape(p) for p in phrases))
    return place_re, phrase_re


def clean_title(title: str) -> str:
    """Strip places, pay, perks, urgency words and company prefixes from a job title.

    Returns the lower-cased remainder with separators collapsed to single spaces. If the rules
    would remove everything, the lower-cased title with only pay figures removed is returned.
    """
    if title is None:
        return ""
    s = str(title).strip()
    if not s:
        return ""
    place_re, phrase_re = _noise_regex()
    raw = s.lower()

    def aside(m: re.Match) -> str:
        inner = m.group(1)
        if (not inner) or re.search(r"\d", inner) or place_re.search(inner) or phrase_re.search(inner):
            return " "
        return " " + inner + " "

    s = _BRACKETS.sub(aside, s)
    s = _PAY.sub(" ", s)
    s = _PERCENT.sub(" ", s)
    s = _LEADING_COMPANY.sub(" ", s)
    s = phrase_re.sub(" ", s)
    s = place_re.sub(" ", s)
    s = s.replace("...", " ").replace("…", " ")
    s = _SEP.sub(" ", s.lower()).strip()
    if not _CJK.search(s) and not _LATIN.search(s):
        s = _SEP.sub(" ", _PAY.sub(" ", raw)).strip()
    return s


def _tokens(text: str, n_max: int = 3) -> list[str]:
    """Character n-grams (1..n_max) of the CJK runs plus whole Latin/digit words."""
    out: list[str] = []
    for word in text.split():
        out.extend(_LATIN.findall(word))
        cjk_runs = re.findall(r"[\u4e00-\u9fff]+", word)
        for run in cjk_runs:
            n = len(run)
            for k in range(1, n_max + 1):
                out.extend(run[i : i + k] for i in range(n - k + 1))
    return out


@dataclass(frozen=True)
class MatchWeights:
    """Weights of the fields in the score and the per-level trust thresholds."""

    title: float = 1.0
    alias: float = 0.8
    small: float = 0.6
    text: float = 0.45
    contains: float = 0.7
    use_aliases: bool = True
    temperature: float = 0.05
    """Softmax temperature turning fine scores into probabilities."""
    thresholds: tuple[float, float, float, float] = (0.0, 0.3, 0.4, 0.5)
    """Minimum probability mass to report a code at the large, medium, small and fine level."""
    min_score: float | None = None
    """Confidence threshold: a title whose best fine occupation scores below it is unmatched
    (``None``: :data:`DEFAULT_MIN_SCORE`)."""

    @property
    def score_threshold(self) -> float:
        return DEFAULT_MIN_SCORE if self.min_score is None else float(self.min_score)


DEFAULT_MIN_SCORE = 0.3
"""Default confidence threshold on the best fine occupation's score (``fine_score``), chosen from
the accuracy-against-coverage table of :func:`accuracy_coverage` (docs/postings.md): below 0.3 the
best guess is wrong about three times in four at the fine level and about half the time even at the
large level, while 88% of the labelled titles stay above it."""


class TitleMatcher:
    """Character n-gram TF-IDF matcher of titles to OCD 2022 fine occupations (see module docs)."""

    def __init__(self, occupations: pd.DataFrame | None = None, weights: MatchWeights | None = None) -> None:
        import numpy as np

        self.weights = weights or MatchWeights()
        occ = load_occupation_documents() if occupations is None else occupations
        missing = [c for c in ("code", "title", "aliases", "small_name", "text") if c not in occ.columns]
        if missing:
            raise InputError(f"occupation documents: missing column(s) {missing}")
        self.occupations = occ.reset_index(drop=True)
        self.codes = np.asarray(self.occupations["code"].tolist(), dtype=object)
        fields = {
            "title": [clean_title(t) or str(t) for t in self.occupations["title"]],
            "alias": [" ".join(a.split("|")) if self.weights.use_aliases else "" for a in self.occupations["aliases"]],
            "small": self.occupations["small_name"].fillna("").tolist(),
            "text": self.occupations["text"].fillna("").tolist(),
        }
        vocab: dict[str, int] = {}
        toks = {k: [_tokens(str(d).lower()) for d in v] for k, v in fields.items()}
        for docs in toks.values():
            for d in docs:
                for t in d:
                    vocab.setdefault(t, len(vocab))
        self.vocab = vocab
        # document frequency over occupations (a term counts once per occupation across its fields)
        df = np.zeros(len(vocab))
        n = len(self.occupations)
        for i in range(n):
            seen = set()
            for k in toks:
                seen.update(toks[k][i])
            for t in seen:
                df[vocab[t]] += 1
        self.idf = np.log((1 + n) / (1 + df)) + 1.0
        self.mats = {k: self._matrix(v) for k, v in toks.items()}
        keys: list[tuple[str, int]] = []
        for i, (t, a) in enumerate(zip(fields["title"], self.occupations["aliases"])):
            cand = {t.replace(" ", "")}
            base = _strip_generic(t.replace(" ", ""))
            if base:
                cand.add(base)
            if self.weights.use_aliases:
                cand.update(x.strip().lower() for x in str(a).split("|") if x.strip())
            for c in cand:
                if len(c) >= 2:
                    keys.append((c, i))
        self._keys = keys
        self._groups = {}
        for lv in LEVELS:
            pref = [c[: _LEVEL_LEN[lv]] for c in self.codes]
            if pref != sorted(pref):
                raise InputError("occupation documents: codes must be sorted")
            starts = np.asarray([i for i in range(len(pref)) if i == 0 or pref[i] != pref[i - 1]], dtype=np.int64)
            labels = np.asarray([to_full_code(pref[i]) for i in starts], dtype=object)
            self._groups[lv] = (starts, labels)
        self._key_map: dict[str, list[int]] = {}
        for k, i in keys:
            self._key_map.setdefault(k, []).append(i)

    # ------------------------------------------------------------------ vectors
    def _matrix(self, token_lists: Sequence[Sequence[str]], *, fit: bool = True):
        import numpy as np
        import scipy.sparse as sp

        rows, cols, vals = [], [], []
        for r, toks in enumerate(token_lists):
            counts: dict[int, int] = {}
            for t in toks:
                j = self.vocab.get(t)
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
            for j, c in counts.items():
                rows.append(r)
                cols.append(j)
                vals.append((1.0 + np.log(c)) * self.idf[j])
        m = sp.csr_matrix((vals, (rows, cols)), shape=(len(token_lists), len(self.vocab)))
        norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sp.diags(1.0 / norms) @ m

    def scores(self, cleaned: Sequence[str]):
        """Dense (len(cleaned) x n_occupations) score matrix for already cleaned titles."""
        import numpy as np

        q = self._matrix([_tokens(c) for c in cleaned])
        w = self.weights
        s = w.title * (q @ self.mats["title"].T).toarray()
        if w.alias:
            s += w.alias * (q @ self.mats["alias"].T).toarray()
        s += w.small * (q @ self.mats["small"].T).toarray()
        s += w.text * (q @ self.mats["text"].T).toarray()
        if w.contains and self._keys:
            for r, c in enumerate(cleaned):
                flat = c.replace(" ", "")
                if not flat:
                    continue
                hits = {}
                for k in _all_substring_hits(self._key_map, flat):
                    for i in self._key_map[k]:
                        hits[i] = max(hits.get(i, 0.0), len(k) / len(flat))
                for i, frac in hits.items():
                    s[r, i] += w.contains * frac
        return np.asarray(s)

    def match(self, titles: Iterable[str], *, batch_size: int = 1024, progress=None) -> pd.DataFrame:
        """Match titles; one output row per input title, in order.

        Columns: ``title_clean``; ``fine_code`` and ``fine_score`` (best fine occupation and its
        score); for each level L, ``code_L`` (the category with the largest probability mass at L)
        and ``p_L`` (that mass; probabilities are a softmax of the fine scores with temperature
        ``weights.temperature``); ``occupation_code``, the trusted code: the category at the finest
        level whose mass clears that level's threshold, written in the full OCD form (``2-02-10-03``,
        ``2-02-00-00``), empty when no level does or the title is unmatched; ``level`` and
        ``score`` (the mass behind the trusted code); ``cjk`` (the cleaned title has a CJK
        character), ``matched`` (it has one and ``fine_score`` is at least the confidence threshold
        ``weights.min_score``) and ``unmatched_reason`` (``''``, ``empty``, ``no_cjk`` or
        ``below_threshold``). ``fine_code`` stays the best guess for unmatched titles (empty when
        the title is empty or nothing scores above 0). Distinct cleaned titles are scored once.
        """
        import numpy as np
        import pandas as pd

        titles = pd.Series(list(titles), dtype=object)
        cleaned = titles.map(lambda t: clean_title(t) if isinstance(t, str) else "")
        uniq, inv = np.unique(cleaned.to_numpy(dtype=str), return_inverse=True)
        n = len(uniq)
        w = self.weights
        best = np.zeros(n, dtype=np.int64)
        fine_score = np.zeros(n)
        cat = {lv: np.zeros(n, dtype=np.int64) for lv in LEVELS}
        mass = {lv: np.zeros(n) for lv in LEVELS}
        for start in range(0, n, batch_size):
            chunk = list(uniq[start : start + batch_size])
            sl = slice(start, start + len(chunk))
            s = self.scores(chunk)
            b = s.argmax(axis=1)
            best[sl] = b
            fine_score[sl] = s[np.arange(len(chunk)), b]
            z = (s - s.max(axis=1, keepdims=True)) / w.temperature
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            for lv in LEVELS:
                starts, _ = self._groups[lv]
                cm = p if lv == "fine" else np.add.reduceat(p, starts, axis=1)
                a = cm.argmax(axis=1)
                cat[lv][sl] = a
                mass[lv][sl] = cm[np.arange(len(chunk)), a]
            if progress is not None:
                progress(min(start + batch_size, n), n)
        valid = (np.char.str_len(uniq.astype(str)) > 0) & (fine_score > 0)
        out = {"title_clean": uniq, "fine_code": np.where(valid, self.codes[best], ""), "fine_score": fine_score}
        cjk = np.array([bool(_CJK.search(u)) for u in uniq], dtype=bool)
        matched = valid & cjk & (fine_score >= w.score_threshold)
        why = np.where(matched, "", np.where(np.char.str_len(uniq.astype(str)) == 0, "empty",
                                             np.where(~cjk, "no_cjk", "below_threshold"))).astype(object)
        trusted = np.full(n, "", dtype=object)
        tlevel = np.full(n, "", dtype=object)
        tscore = np.zeros(n)
        for li in range(3, -1, -1):
            lv = LEVELS[li]
            _, labels = self._groups[lv]
            codes = np.where(valid, labels[cat[lv]], "")
            out[f"code_{lv}"] = codes
            out[f"p_{lv}"] = np.where(valid, mass[lv], 0.0)
            ok = (trusted == "") & matched & (mass[lv] >= w.thresholds[li])
            trusted[ok] = codes[ok]
            tlevel[ok] = lv
            tscore[ok] = mass[lv][ok]
        out.update({"occupation_code": trusted, "level": tlevel, "score": tscore, "cjk": cjk, "matched": matched,
                    "unmatched_reason": why})
        df = pd.DataFrame(out).iloc[inv].reset_index(drop=True)
        return df[["title_clean", "fine_code", "fine_score", *[f"{k}_{lv}" for lv in LEVELS for k in ("code", "p")],
                   "occupation_code", "level", "score", "cjk", "matched", "unmatched_reason"]]

    def guesses(self, titles: Iterable[str], k: int = 3) -> pd.DataFrame:
        """The ``k`` best fine occupations of each title, best first: ``guess{i}_code``,
        ``guess{i}_title`` and ``guess{i}_score`` for i = 1..k (empty code and score 0 where a
        title's cleaned form is empty or fewer than i occupations score above 0)."""
        import numpy as np
        import pandas as pd

        titles = list(titles)
        cleaned = [clean_title(t) if isinstance(t, str) else "" for t in titles]
        n = len(titles)
        code = np.full((n, k), "", dtype=object)
        score = np.zeros((n, k))
        if n:
            s = self.scores(cleaned)
            top = np.argsort(-s, axis=1, kind="stable")[:, :k]
            sc = np.take_along_axis(s, top, axis=1)
            ok = (sc > 0) & (np.array([len(c) > 0 for c in cleaned])[:, None])
            code[:, :top.shape[1]] = np.where(ok, self.codes[top], "")
            score[:, :top.shape[1]] = np.where(ok, sc, 0.0)
        names = dict(zip(self.occupations["code"], self.occupations["title"]))
        out = {}
        for i in range(k):
            out[f"guess{i + 1}_code"] = code[:, i]
            out[f"guess{i + 1}_title"] = [names.get(c, "") for c in code[:, i]]
            out[f"guess{i + 1}_score"] = score[:, i]
        return pd.DataFrame(out)


def _all_substring_hits(key_map: dict, flat: str) -> list[str]:
    """Keys (occupation titles, aliases) that occur whole inside ``flat``."""
    n = len(flat)
    out = []
    for i in range(n):
        for j in range(i + 2, min(n, i + 24) + 1):
            if flat[i:j] in key_map:
                out.append(flat[i:j])
    return out


_GENERIC_SUFFIX = ("工程技术人员", "专业人员", "技术人员", "服务人员", "人员")


def _strip_generic(title: str) -> str:
    for suf in _GENERIC_SUFFIX:
        if title.endswith(suf) and len(title) - len(suf) >= 2:
            return title[: -len(suf)]
    return ""


def to_full_code(code: str) -> str:
    """A short OCD code (``2``, ``2-02``, ``2-02-10``) padded to the full form ``2-02-10-00``."""
    parts = code.split("-")
    parts = parts + ["00"] * (4 - len(parts))
    return "-".join(parts)


def code_level(full_code: str) -> str:
    """Level of a full OCD code by its trailing zero groups (``2-02-00-00`` is medium)."""
    if full_code.endswith("-00-00-00"):
        return "large"
    if full_code.endswith("-00-00"):
        return "medium"
    if full_code.endswith("-00"):
        return "small"
    return "fine"


@lru_cache(maxsize=1)
def _occupation_documents_cached():
    from empirics.scoring.occupations import load_ocd2022

    import pandas as pd

    table = load_ocd2022()
    aliases = _aliases()
    rows = []
    for o in table:
        text = o.definition + " " + " ".join(t.text for t in o.tasks)
        al = [a for a in aliases.get(o.code, []) if a and a != o.title]
        rows.append(
            {
                "code": o.code,
                "title": o.title,
                "aliases": "|".join(al),
                "small_name": o.small_name,
                "medium_name": o.medium_name,
                "text": text,
            }
        )
    return pd.DataFrame(rows)


def load_occupation_documents() -> pd.DataFrame:
    """The fine OCD 2022 occupations (cleaned by :func:`empirics.scoring.occupations.load_ocd2022`)
    with the text fields the matcher uses: ``code, title, aliases, small_name, medium_name, text``."""
    return _occupation_documents_cached().copy()


def _aliases() -> dict[str, list[str]]:
    """Aliases of fine occupations from the bundled csco22.csv ``alias`` column (``S``/``L`` markers removed)."""
    from empirics.ocd import CSCO22, read_csv_rows

    out: dict[str, list[str]] = {}
    for r in read_csv_rows(CSCO22, str(CSCO22))[1]:
        if r.get("level", "").strip() != "4":
            continue
        names = [_MARKER.sub("", a.strip()).strip() for a in (r.get("alias") or "").split(",")]
        out.setdefault(r["code"].strip(), []).extend(n for n in names if n)
    return out


@lru_cache(maxsize=2)
def default_matcher(use_aliases: bool = True) -> TitleMatcher:
    """A matcher on the bundled OCD 2022 table (built once per process)."""
    return TitleMatcher(weights=MatchWeights(use_aliases=use_aliases))


# ------------------------------------------------------------------------------------ evaluation
def load_labeled_titles() -> pd.DataFrame:
    """The bundled hand-labelled titles: ``title, expected_code, expected_level`` (rows without a
    valid code are dropped; 3,045 remain). A label is at the fine level when it is a fine code of
    the OCD table, otherwise at the level its trailing ``-00`` groups give."""
    import pandas as pd

    t = pd.read_csv(_data_path("job_titles_labeled.csv"), dtype=str, keep_default_na=False)
    t = t.rename(columns={"job_name": "title"})
    t["expected_code"] = t["expected_code"].str.strip()
    t = t[t["expected_code"].str.match(_CODE_RE)].reset_index(drop=True)
    fine = set(load_occupation_documents()["code"])
    # a code ending in -00 is a fine occupation when the table lists it as one (single-occupation small categories)
    t["expected_level"] = [("fine" if c in fine else code_level(c)) for c in t["expected_code"]]
    return t


def evaluate(matcher: TitleMatcher | None = None, labeled: pd.DataFrame | None = None) -> pd.DataFrame:
    """Accuracy at each level of the hierarchy on labelled titles.

    For level L the rows are the titles whose label is at L or finer (a label ``2-02-00-00`` counts
    at the large and medium levels only). Three shares are reported:

    * ``top1``: the best fine occupation, cut to level L, equals the label cut to L;
    * ``level``: the category with the largest probability mass at L (``code_L``) equals it;
    * ``trusted``: the trusted code is at L or finer and, cut to L, equals it (a coarser trusted
      code counts as wrong); ``coverage`` is the share with a trusted code at L or finer.
    """
    import numpy as np
    import pandas as pd

    m = matcher or default_matcher()
    lab = load_labeled_titles() if labeled is None else labeled
    res = m.match(lab["title"])
    rank = {lv: i for i, lv in enumerate(LEVELS)}
    exp_rank = lab["expected_level"].map(rank).to_numpy()
    tr_rank = res["level"].map(lambda x: rank.get(x, -1)).to_numpy()
    out = []
    for li, lv in enumerate(LEVELS):
        k = _LEVEL_LEN[lv]
        rows = exp_rank >= li
        exp = lab["expected_code"].str[:k].to_numpy()[rows]
        top = res["fine_code"].str[:k].to_numpy()[rows]
        by_level = res[f"code_{lv}"].str[:k].to_numpy()[rows]
        tr = res["occupation_code"].str[:k].to_numpy()[rows]
        covered = tr_rank[rows] >= li
        out.append(
            {
                "level": lv,
                "n": int(rows.sum()),
                "top1": float(np.mean(top == exp)),
                "level_argmax": float(np.mean(by_level == exp)),
                "trusted": float(np.mean(covered & (tr == exp))),
                "coverage": float(np.mean(covered)),
            }
        )
    return pd.DataFrame(out)


ACCURACY_COVERAGE_THRESHOLDS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.2)
"""Confidence thresholds of the accuracy-against-coverage table in docs/postings.md."""


def accuracy_coverage(matcher: TitleMatcher | None = None, thresholds: Sequence[float] = ACCURACY_COVERAGE_THRESHOLDS,
                      labeled: pd.DataFrame | None = None) -> pd.DataFrame:
    """Accuracy against coverage as the confidence threshold (``MatchWeights.min_score``) moves.

    For each threshold t, a labelled title is *matched* when it has a CJK character and its best
    fine occupation scores at least t (the rule of :meth:`TitleMatcher.match`). ``coverage`` is the
    share of all labelled titles matched; for each level L, ``acc_L`` is the top-1 accuracy at L
    among the matched titles labelled at L or finer, ``n_L`` their number, and ``band_acc_L`` the
    accuracy at L of the titles that this threshold drops and the previous (lower) one kept (NaN
    for the first). One scoring pass serves every threshold.
    """
    import numpy as np
    import pandas as pd

    m = matcher or default_matcher()
    lab = load_labeled_titles() if labeled is None else labeled
    res = m.match(lab["title"])
    rank = {lv: i for i, lv in enumerate(LEVELS)}
    exp_rank = lab["expected_level"].map(rank).to_numpy()
    has = (res["fine_code"] != "").to_numpy() & res["cjk"].to_numpy(bool)
    score = res["fine_score"].to_numpy(float)
    right = {lv: (res["fine_code"].str[:_LEVEL_LEN[lv]] == lab["expected_code"].str[:_LEVEL_LEN[lv]]).to_numpy()
             for lv in LEVELS}
    rows, prev = [], None
    for t in sorted(thresholds):
        keep = has & (score >= t)
        row = {"threshold": float(t), "coverage": float(keep.mean()) if len(keep) else float("nan"), "n_matched": int(keep.sum())}
        for li, lv in enumerate(LEVELS):
            at = exp_rank >= li
            k = keep & at
            row[f"acc_{lv}"] = float(right[lv][k].mean()) if k.any() else float("nan")
            row[f"n_{lv}"] = int(k.sum())
            band = (prev & ~keep & at) if prev is not None else np.zeros(len(keep), dtype=bool)
            row[f"band_acc_{lv}"] = float(right[lv][band].mean()) if band.any() else float("nan")
        rows.append(row)
        prev = keep
    return pd.DataFrame(rows)
