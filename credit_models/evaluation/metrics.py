"""The numbers of a model validation: ranking (AUC, Gini, KS), calibration (log loss, Brier,
expected calibration error), gains and lift, score bands, stability (PSI, CSI), and all of them per
group (segment, snapshot month, split).

Every function takes plain arrays or Series and returns a float, a dict or a DataFrame; metric
names are the bare names (``auc``, ``ece``) that :func:`evaluate_split_metrics` prefixes with the
split (``oot/ece``) for an experiment tracker.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.stats import rankdata
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score, roc_curve

from credit_models.errors import TrainingDataError
from credit_models.split.names import SPLIT_ORDER


def ranking_metrics(is_bad: np.ndarray, score: np.ndarray) -> dict[str, float]:
    """AUC, Gini (= 2·AUC − 1) and KS (the largest gap between the cumulative score
    distributions of bads and goods, which equals max(TPR − FPR) on the ROC curve)."""
    is_bad = np.asarray(is_bad, dtype=bool)
    score = np.asarray(score, dtype=float)
    bads = int(is_bad.sum())
    if bads == 0 or bads == len(is_bad):
        raise TrainingDataError(
            f"ranking metrics need both goods and bads; got {len(is_bad)} rows with {bads} bads"
        )
    auc = float(roc_auc_score(is_bad, score))
    false_positive_rate, true_positive_rate, _ = roc_curve(is_bad, score)
    return {
        "auc": auc,
        "gini": 2.0 * auc - 1.0,
        "ks": float(np.max(true_positive_rate - false_positive_rate)),
        "rows": float(len(is_bad)),
        "bads": float(bads),
        "bad_rate": bads / len(is_bad),
    }


# ---------------------------------------------------------------------------------------------
# Shared input checks and binning
# ---------------------------------------------------------------------------------------------

PSI_EPSILON = 1e-4
"""Floor of a bin's share in the PSI, so a bin empty in one sample adds a large but finite term."""
PSI_STABLE, PSI_ACT = 0.1, 0.25
"""PSI below 0.1: stable; 0.1 to 0.25: watch; above 0.25: act (rebuild or recalibrate)."""
MISSING = "missing"
"""The bin of missing values in stability tables: in credit data a missing value means something."""


def _series(values: ArrayLike) -> pd.Series:
    """Values as a Series with a 0..n-1 index (its dtype kept), so positions and labels agree."""
    if isinstance(values, pd.Series):
        return values.reset_index(drop=True)
    return pd.Series(np.asarray(values))


def binary_labels(is_bad: ArrayLike) -> np.ndarray:
    """``is_bad`` as a boolean array; accepts booleans or 0/1 numbers, nothing missing."""
    values = _series(is_bad)
    if values.isna().any():
        raise ValueError(f"is_bad must not contain missing values; got {int(values.isna().sum())}")
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype=bool)
    if not pd.api.types.is_numeric_dtype(values.dtype):
        raise ValueError(f"is_bad must be boolean or 0/1; got dtype {values.dtype}")
    array = values.to_numpy(dtype=float)
    unexpected = ~np.isin(array, (0.0, 1.0))
    if unexpected.any():
        raise ValueError(
            f"is_bad must be boolean or 0/1; got values such as {np.unique(array[unexpected])[:5]}"
        )
    return array.astype(bool)


def _probabilities(probability: ArrayLike, rows: int) -> np.ndarray:
    values = np.asarray(probability, dtype=float)
    if values.shape != (rows,):
        raise ValueError(f"probability must have one value per row ({rows}); got shape {values.shape}")
    outside = ~((values >= 0.0) & (values <= 1.0))    # NaN counts as outside
    if outside.any():
        raise ValueError(
            f"probability must be in [0, 1] and not missing; got {int(outside.sum())} value(s) "
            f"outside, e.g. {values[outside][:3].tolist()}"
        )
    return values


def _scores(score: ArrayLike, rows: int, name: str = "score") -> np.ndarray:
    values = np.asarray(score, dtype=float)
    if values.shape != (rows,):
        raise ValueError(f"{name} must have one value per row ({rows}); got shape {values.shape}")
    if not np.isfinite(values).all():
        raise ValueError(f"{name} must be finite; got {int((~np.isfinite(values)).sum())} "
                         "missing or infinite value(s)")
    return values


def _check_bins(name: str, bins: int) -> None:
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"{name} must be an integer >= 1; got {bins!r}")


def _quantile_cuts(reference: np.ndarray, bins: int) -> np.ndarray:
    """Inner cut points at the reference sample's quantiles, repeated values dropped: bins are
    ``(-inf, c1], (c1, c2], …, (ck, inf)``, so a value equal to a cut and all its ties fall in
    one bin. A heavily tied sample (e.g. 60 % zeros) gives fewer, unequal bins."""
    if reference.size == 0:
        return np.empty(0)
    inner = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    cuts = np.unique(np.quantile(reference, inner))
    return cuts[cuts < reference.max()]    # a cut at the maximum would leave the last bin empty


def _bin_of(values: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    return np.searchsorted(cuts, values, side="left")


# ---------------------------------------------------------------------------------------------
# Calibration
# ---------------------------------------------------------------------------------------------


def calibration_table(is_bad: ArrayLike, probability: ArrayLike, bins: int = 10) -> pd.DataFrame:
    """Predicted against observed bad rate in equal-frequency bins of the predicted PD.

    Bins are cut at the deciles (for ``bins=10``) of the predicted probabilities, so each holds
    about the same number of rows; equal-width bins would put nearly every row of a low-default
    portfolio into the first bin. Tied predictions always share a bin, so a model with few distinct
    PDs gets fewer bins. Columns: ``bin`` (0 = lowest PD), ``lower``/``upper`` (smallest and largest
    PD in the bin), ``rows``, ``bads``, ``mean_probability``, ``bad_rate``.
    """
    _check_bins("bins", bins)
    labels = binary_labels(is_bad)
    predicted = _probabilities(probability, len(labels))
    if len(labels) == 0:
        raise ValueError("calibration needs at least one row; got 0")
    bin_index = _bin_of(predicted, _quantile_cuts(predicted, bins))
    frame = pd.DataFrame({"bin": bin_index, "is_bad": labels, "probability": predicted})
    table = frame.groupby("bin", sort=True).agg(
        lower=("probability", "min"), upper=("probability", "max"), rows=("is_bad", "size"),
        bads=("is_bad", "sum"), mean_probability=("probability", "mean"),
        bad_rate=("is_bad", "mean"),
    )
    return table.reset_index().astype({"rows": "int64", "bads": "int64"})


def expected_calibration_error(
    is_bad: ArrayLike, probability: ArrayLike, bins: int = 10
) -> float:
    """ECE = Σ_b (rows_b / rows) · |mean predicted PD_b − observed bad rate_b| over the
    equal-frequency bins of :func:`calibration_table`; 0 for a perfectly calibrated model, in
    the units of a probability (0.01 = one percentage point off on average)."""
    table = calibration_table(is_bad, probability, bins)
    gaps = (table["mean_probability"] - table["bad_rate"]).abs()
    return float((gaps * table["rows"]).sum() / table["rows"].sum())


def calibration_metrics(
    is_bad: ArrayLike, probability: ArrayLike, bins: int = 10
) -> dict[str, float]:
    """Whether a PD of 5 % means 5 %: log loss and Brier score (scikit-learn; lower is better),
    the expected calibration error over ``bins`` equal-frequency bins (see
    :func:`expected_calibration_error`), and the mean predicted PD next to the observed bad rate.
    """
    labels = binary_labels(is_bad)
    predicted = _probabilities(probability, len(labels))
    if len(labels) == 0:
        raise ValueError("calibration needs at least one row; got 0")
    return {
        "log_loss": float(log_loss(labels, predicted, labels=[False, True])),
        "brier": float(brier_score_loss(labels, predicted, pos_label=True)),
        "ece": expected_calibration_error(labels, predicted, bins),
        "mean_probability": float(predicted.mean()),
        "bad_rate": float(labels.mean()),
    }


# ---------------------------------------------------------------------------------------------
# Gains, lift and score bands
# ---------------------------------------------------------------------------------------------


def gains_table(
    is_bad: ArrayLike, score: ArrayLike, groups: int = 10, *, higher_is_riskier: bool = True
) -> pd.DataFrame:
    """Gains and lift by score group (deciles for ``groups=10``), the riskiest group first.

    Rows are ranked from riskiest to safest (highest score first for a PD, lowest first for points:
    set ``higher_is_riskier=False``) and cut into ``groups`` groups of equal size; tied scores
    always share a group, so heavy ties give unequal or fewer groups. Columns: ``group`` (1 =
    riskiest), ``min_score``, ``max_score``, ``rows``, ``bads``, ``bad_rate``, ``bads_share`` (of all
    bads), ``cumulative_rows_share``, ``cumulative_bads_share`` (the gains curve: the share of all
    bads caught by declining this group and every riskier one), ``cumulative_bad_rate``, ``lift``
    (bad rate / overall bad rate) and ``cumulative_lift``.
    """
    _check_bins("groups", groups)
    labels = binary_labels(is_bad)
    values = _scores(score, len(labels))
    if len(labels) == 0:
        raise ValueError("a gains table needs at least one row; got 0")
    riskiness = values if higher_is_riskier else -values
    first_rank = rankdata(-riskiness, method="min")    # 1 = riskiest; ties share the first rank
    group = ((first_rank - 1) * groups // len(labels) + 1).astype(np.int64)
    frame = pd.DataFrame({"group": group, "is_bad": labels, "score": values})
    table = frame.groupby("group", sort=True).agg(
        min_score=("score", "min"), max_score=("score", "max"), rows=("is_bad", "size"),
        bads=("is_bad", "sum"),
    ).reset_index().astype({"rows": "int64", "bads": "int64"})
    total_rows, total_bads = len(labels), int(labels.sum())
    overall_bad_rate = total_bads / total_rows
    table["bad_rate"] = table["bads"] / table["rows"]
    table["bads_share"] = table["bads"] / total_bads if total_bads else np.nan
    table["cumulative_rows_share"] = table["rows"].cumsum() / total_rows
    table["cumulative_bads_share"] = table["bads"].cumsum() / total_bads if total_bads else np.nan
    table["cumulative_bad_rate"] = table["bads"].cumsum() / table["rows"].cumsum()
    with np.errstate(divide="ignore", invalid="ignore"):
        table["lift"] = table["bad_rate"] / overall_bad_rate if total_bads else np.nan
        table["cumulative_lift"] = (
            table["cumulative_bad_rate"] / overall_bad_rate if total_bads else np.nan
        )
    return table


def _edge_label(value: float) -> str:
    return "−∞" if value == -np.inf else "∞" if value == np.inf else f"{value:.4g}"


def score_band_table(
    is_bad: ArrayLike, score: ArrayLike, edges: Sequence[float],
    probability: ArrayLike | None = None,
) -> pd.DataFrame:
    """Counts and bad rates per score band, in ascending order of the score.

    ``edges`` are strictly increasing band limits; bands are ``[e0, e1), [e1, e2), …, [e(k-1),
    ek]`` (the last one closed, so a PD of exactly 1 or the top of a points scale is counted). The
    score may be a PD (the first band is then the safest) or points (the first band the riskiest);
    a score outside ``[e0, ek]`` is an error: pass ``-inf``/``inf`` as outer edges to catch all.
    Empty bands are kept (a master scale has fixed bands). Columns: ``band``, ``lower``,
    ``upper``, ``rows``, ``bads``, ``goods``, ``bad_rate``, ``rows_share``,
    ``cumulative_rows_share`` and ``cumulative_bads_share`` (from the first band down to this
    one), ``odds`` (goods per bad, ∞ without bads) and, when ``probability`` is given,
    ``mean_probability`` (the predicted bad rate to compare with the observed one).
    """
    labels = binary_labels(is_bad)
    values = _scores(score, len(labels))
    limits = np.asarray(edges, dtype=float)
    if limits.ndim != 1 or len(limits) < 2 or np.isnan(limits).any() or (np.diff(limits) <= 0).any():
        raise ValueError(
            f"edges must be at least two strictly increasing numbers; got {list(edges)}"
        )
    outside = (values < limits[0]) | (values > limits[-1])
    if outside.any():
        raise ValueError(
            f"{int(outside.sum())} score(s) lie outside the band edges [{limits[0]:g}, "
            f"{limits[-1]:g}], e.g. {values[outside][:3].tolist()}; add -inf/inf as outer edges"
        )
    band = np.minimum(np.searchsorted(limits, values, side="right") - 1, len(limits) - 2)
    count = len(limits) - 1
    rows = np.bincount(band, minlength=count)
    bads = np.bincount(band, weights=labels.astype(float), minlength=count).astype(np.int64)
    labels_text = [
        f"[{_edge_label(lower)}, {_edge_label(upper)}{']' if i == count - 1 else ')'}"
        for i, (lower, upper) in enumerate(pairwise(limits))
    ]
    table = pd.DataFrame({
        "band": labels_text, "lower": limits[:-1], "upper": limits[1:], "rows": rows, "bads": bads,
    })
    table["goods"] = table["rows"] - table["bads"]
    total_rows, total_bads = max(len(labels), 1), int(labels.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        table["bad_rate"] = np.where(rows > 0, bads / np.maximum(rows, 1), np.nan)
        table["rows_share"] = rows / total_rows
        table["cumulative_rows_share"] = np.cumsum(rows) / total_rows
        table["cumulative_bads_share"] = (
            np.cumsum(bads) / total_bads if total_bads else np.full(count, np.nan)
        )
        table["odds"] = np.where(
            rows == 0, np.nan, np.where(bads == 0, np.inf, table["goods"] / np.maximum(bads, 1))
        )
    if probability is not None:
        predicted = _probabilities(probability, len(labels))
        sums = np.bincount(band, weights=predicted, minlength=count)
        table["mean_probability"] = np.where(rows > 0, sums / np.maximum(rows, 1), np.nan)
    return table


# ---------------------------------------------------------------------------------------------
# Stability: PSI and CSI
# ---------------------------------------------------------------------------------------------


def _is_categorical(values: pd.Series) -> bool:
    return not (
        pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype)
    )


def stability_table(
    expected: ArrayLike, actual: ArrayLike, bins: int = 10, *, epsilon: float = PSI_EPSILON
) -> pd.DataFrame:
    """Per-bin shares of two samples and each bin's PSI term ``(a − e) · ln(a / e)``.

    Numeric values are cut at the ``expected`` sample's quantiles (``bins`` bins of about equal
    expected count; tied values share a bin, so heavy ties give fewer bins; the outer bins are
    open, so actual values beyond the expected range still land in one). Categorical values
    (category, string, object or boolean dtype) get one bin per category seen in either sample.
    Missing values form their own bin ``"missing"`` when either sample has any. Shares below
    ``epsilon`` are raised to it, so a bin empty in one sample adds a large but finite term.
    Columns: ``bin``, ``expected_rows``, ``actual_rows``, ``expected_share``, ``actual_share``,
    ``psi``.
    """
    _check_bins("bins", bins)
    if not 0 < epsilon < 0.1:
        raise ValueError(f"epsilon must be in (0, 0.1); got {epsilon!r}")
    reference, compared = _series(expected), _series(actual)
    if len(reference) == 0 or len(compared) == 0:
        raise ValueError(
            f"PSI needs two non-empty samples; got {len(reference)} expected and "
            f"{len(compared)} actual rows"
        )
    if _is_categorical(reference) or _is_categorical(compared):
        expected_bins = reference.astype(object).where(reference.notna(), MISSING)
        actual_bins = compared.astype(object).where(compared.notna(), MISSING)
        names = sorted(set(expected_bins.map(str)) | set(actual_bins.map(str)),
                       key=lambda name: (name == MISSING, name))
        expected_counts = expected_bins.map(str).value_counts().reindex(names, fill_value=0)
        actual_counts = actual_bins.map(str).value_counts().reindex(names, fill_value=0)
    else:
        reference_values = reference.to_numpy(dtype=float, na_value=np.nan)
        compared_values = compared.to_numpy(dtype=float, na_value=np.nan)
        known = reference_values[~np.isnan(reference_values)]
        cuts = _quantile_cuts(known, bins)
        bounds = [-np.inf, *cuts, np.inf]
        names = [f"({_edge_label(lo)}, {_edge_label(hi)}{']' if hi != np.inf else ')'}"
                 for lo, hi in pairwise(bounds)]
        count = len(names)

        def counts(values: np.ndarray) -> np.ndarray:
            present = values[~np.isnan(values)]
            return np.bincount(_bin_of(present, cuts), minlength=count)

        expected_counts = pd.Series(counts(reference_values), index=names)
        actual_counts = pd.Series(counts(compared_values), index=names)
        missing = (int(np.isnan(reference_values).sum()), int(np.isnan(compared_values).sum()))
        if any(missing):
            expected_counts[MISSING], actual_counts[MISSING] = missing
    table = pd.DataFrame({
        "bin": expected_counts.index.astype(str),
        "expected_rows": expected_counts.to_numpy(dtype=np.int64),
        "actual_rows": actual_counts.to_numpy(dtype=np.int64),
    })
    table["expected_share"] = table["expected_rows"] / table["expected_rows"].sum()
    table["actual_share"] = table["actual_rows"] / table["actual_rows"].sum()
    table["psi"] = psi_terms(table["expected_rows"], table["actual_rows"], epsilon=epsilon)
    return table


def psi_terms(expected: ArrayLike, actual: ArrayLike, *, epsilon: float = PSI_EPSILON) -> np.ndarray:
    """Each bin's (a − e) · ln(a / e), from the counts (or shares) per bin of the expected and
    actual samples. Shares below ``epsilon`` are raised to it, so a bin empty in one sample adds a
    large but finite term instead of infinity, and a bin empty in both adds nothing."""
    expected_counts = np.asarray(expected, dtype="float64")
    actual_counts = np.asarray(actual, dtype="float64")
    if expected_counts.ndim != 1 or expected_counts.shape != actual_counts.shape:
        raise ValueError(
            f"expected and actual must be 1-D with one value per bin; got shapes "
            f"{expected_counts.shape} and {actual_counts.shape}"
        )
    for name, counts in (("expected", expected_counts), ("actual", actual_counts)):
        if not np.isfinite(counts).all() or (counts < 0).any() or counts.sum() <= 0:
            raise ValueError(f"{name} must be finite, non-negative counts with a positive total; "
                             f"got {counts.tolist()}")
    if not epsilon > 0:
        raise ValueError(f"epsilon must be > 0; got {epsilon}.")
    expected_share = np.maximum(expected_counts / expected_counts.sum(), epsilon)
    actual_share = np.maximum(actual_counts / actual_counts.sum(), epsilon)
    return (actual_share - expected_share) * np.log(actual_share / expected_share)


def psi_from_counts(expected: ArrayLike, actual: ArrayLike, *, epsilon: float = PSI_EPSILON) -> float:
    """PSI = Σ (a − e) · ln(a / e) over bins already counted (e.g. a binning's bins)."""
    return float(psi_terms(expected, actual, epsilon=epsilon).sum())


def population_stability_index(
    expected: ArrayLike, actual: ArrayLike, bins: int = 10, *, epsilon: float = PSI_EPSILON
) -> float:
    """PSI = Σ (a − e) · ln(a / e) over the bins of :func:`stability_table` (bins from the
    ``expected`` sample's quantiles, ties sharing a bin, missing values a bin of their own, shares
    floored at ``epsilon``). < 0.1 stable, 0.1–0.25 watch, > 0.25 act."""
    return float(stability_table(expected, actual, bins, epsilon=epsilon)["psi"].sum())


def stability_status(psi: float) -> str:
    """The reading of a PSI or CSI: ``stable`` (< 0.1), ``watch`` (0.1–0.25), ``act`` (> 0.25)."""
    if np.isnan(psi):
        return "n/a"
    return "stable" if psi < PSI_STABLE else "watch" if psi <= PSI_ACT else "act"


def characteristic_stability(
    dev_frame: pd.DataFrame, oot_frame: pd.DataFrame, features: Sequence[str] | None = None,
    bins: int = 10, *, epsilon: float = PSI_EPSILON,
) -> pd.DataFrame:
    """CSI of each feature from the development sample to the out-of-time one: the PSI of the
    feature's own distribution (numeric features in ``bins`` quantile bins of the development
    sample, categorical features one bin per category; missing values a bin of their own).

    Returns one row per feature, in the order given: ``feature``, ``kind`` (numeric or
    categorical), ``bins``, ``csi``, ``status`` (stable / watch / act)."""
    names = list(dev_frame.columns) if features is None else list(features)
    absent = [name for name in names if name not in dev_frame or name not in oot_frame]
    if absent:
        raise ValueError(
            f"characteristic stability: feature(s) missing from the frames: {absent[:10]}"
        )
    rows = []
    for name in names:
        table = stability_table(dev_frame[name], oot_frame[name], bins, epsilon=epsilon)
        csi = float(table["psi"].sum())
        categorical = _is_categorical(dev_frame[name]) or _is_categorical(oot_frame[name])
        rows.append({
            "feature": name, "kind": "categorical" if categorical else "numeric",
            "bins": len(table), "csi": csi, "status": stability_status(csi),
        })
    return pd.DataFrame(rows, columns=["feature", "kind", "bins", "csi", "status"])


def stability_by_group(
    expected: ArrayLike, actual: ArrayLike, groups: ArrayLike, bins: int = 10,
    *, epsilon: float = PSI_EPSILON,
) -> pd.Series:
    """PSI of ``actual`` within each group (e.g. each snapshot month) against the whole
    ``expected`` sample, on the expected sample's bins; indexed by group value, in sorted order."""
    compared, keys = _series(actual), _series(groups)
    if len(keys) != len(compared):
        raise ValueError(
            f"groups must have one value per actual row ({len(compared)}); got {len(keys)}"
        )
    result = {
        key: population_stability_index(expected, compared[part.index], bins, epsilon=epsilon)
        for key, part in keys.groupby(keys, sort=True, observed=True)
    }
    return pd.Series(result, name="psi", dtype=float)


# ---------------------------------------------------------------------------------------------
# Metrics per group and per split
# ---------------------------------------------------------------------------------------------

GROUP_METRICS = (
    "rows", "bads", "bad_rate", "mean_probability", "auc", "gini", "ks", "log_loss", "brier", "ece",
)


def _group_metrics(labels: np.ndarray, predicted: np.ndarray, bins: int) -> dict[str, float]:
    bads = int(labels.sum())
    if 0 < bads < len(labels):
        ranking = ranking_metrics(labels, predicted)
    else:   # one class: ranking is undefined, not an error
        ranking = {"auc": np.nan, "gini": np.nan, "ks": np.nan}
    calibration = calibration_metrics(labels, predicted, bins)
    return {
        "rows": float(len(labels)), "bads": float(bads), "bad_rate": bads / len(labels),
        "mean_probability": calibration["mean_probability"],
        "auc": ranking["auc"], "gini": ranking["gini"], "ks": ranking["ks"],
        "log_loss": calibration["log_loss"], "brier": calibration["brier"],
        "ece": calibration["ece"],
    }


def metrics_by_group(
    is_bad: ArrayLike, probability: ArrayLike, groups: ArrayLike, bins: int = 10
) -> pd.DataFrame:
    """Ranking and calibration per group (a segment, a snapshot month, a split).

    One row per group value (sorted; missing group values form a group of their own), columns
    ``group`` and :data:`GROUP_METRICS`: rows, bads, bad_rate, mean_probability, auc, gini, ks,
    log_loss, brier, ece. A group with only goods or only bads gets NaN AUC, Gini and KS rather
    than an error: small segments and months often do.
    """
    _check_bins("bins", bins)
    labels = binary_labels(is_bad)
    predicted = _probabilities(probability, len(labels))
    keys = _series(groups)
    if len(keys) != len(labels):
        raise ValueError(f"groups must have one value per row ({len(labels)}); got {len(keys)}")
    rows = []
    for key, part in keys.groupby(keys, sort=True, dropna=False, observed=True):
        positions = part.index.to_numpy()
        rows.append({"group": key, **_group_metrics(labels[positions], predicted[positions], bins)})
    table = pd.DataFrame(rows, columns=["group", *GROUP_METRICS])
    return table.astype({"rows": "int64", "bads": "int64"})


def split_metrics_table(
    is_bad: ArrayLike, probability: ArrayLike, split: ArrayLike, *, reference_split: str = "dev",
    bins: int = 10,
) -> pd.DataFrame:
    """:func:`metrics_by_group` per split (dev, valid, calibration, oot, test first, any other after), indexed by
    split, plus ``psi_score``: the PSI of the predicted PD from ``reference_split`` to each split
    (0 for the reference itself; NaN when the reference split is absent)."""
    labels = binary_labels(is_bad)
    predicted = _probabilities(probability, len(labels))
    names = _series(split).astype(str)
    table = metrics_by_group(labels, predicted, names, bins).set_index("group")
    order = [name for name in SPLIT_ORDER if name in table.index]
    table = table.loc[order + sorted(set(table.index) - set(order))]
    table.index.name = "split"
    reference = names.to_numpy() == reference_split
    table["psi_score"] = [
        population_stability_index(predicted[reference], predicted[names.to_numpy() == name], bins)
        if reference.any() else np.nan
        for name in table.index
    ]
    return table


def evaluate_split_metrics(
    is_bad: ArrayLike, probability: ArrayLike, split: ArrayLike, *, reference_split: str = "dev",
    bins: int = 10,
) -> dict[str, float]:
    """Every headline metric of every split as ``{split}/{metric}`` (``oot/auc``, ``oot/ece``,
    ``oot/brier``, ``oot/log_loss``, ``oot/psi_score`` …), ready for an experiment tracker that
    groups charts by the prefix. NaN where a split has one class (ranking metrics)."""
    table = split_metrics_table(
        is_bad, probability, split, reference_split=reference_split, bins=bins
    )
    return {
        f"{name}/{metric}": float(value)
        for name, row in table.iterrows()
        for metric, value in row.items()
    }
