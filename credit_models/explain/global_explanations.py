"""What drives the model overall: mean |SHAP| importance, a beeswarm, dependence plots coloured by
the strongest interaction partner, and how importance moved between two samples (development vs
out-of-time).

Every function takes :class:`~credit_models.explain.contributions.Contributions` (or their
``values`` frame) and the feature values of the same rows, and returns a table or a matplotlib
:class:`~matplotlib.figure.Figure` built without pyplot (no global figure state; the caller logs
it, e.g. ``mlflow.log_figure``, and may drop it). Plots draw at most ``max_points`` rows, a
seeded sample, so they stay readable and fast on a full portfolio.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from credit_models.explain.contributions import Contributions, mean_absolute_shap
from credit_models.explain.figure_style import LABEL_SIZE, TICK_SIZE, styled

logger = logging.getLogger(__name__)

DEV_COLOUR, OOT_COLOUR = "#4c72b0", "#55a868"
_LOW, _HIGH = "#1f77b4", "#d62728"


def _values(contributions: pd.DataFrame | Contributions) -> pd.DataFrame:
    return contributions.values if isinstance(contributions, Contributions) else contributions


def shap_importance(contributions: pd.DataFrame | Contributions) -> pd.Series:
    """Mean |SHAP| per feature (log-odds), largest first."""
    return mean_absolute_shap(contributions)


def numeric_view(inputs: pd.DataFrame) -> pd.DataFrame:
    """Feature values as float64: categories by their code (missing stays NaN), for colouring
    and for correlations."""
    columns = {}
    for name in inputs.columns:
        values = inputs[name]
        if isinstance(values.dtype, pd.CategoricalDtype):
            codes = values.cat.codes.to_numpy().astype("float64")
            columns[name] = np.where(codes < 0, np.nan, codes)
        elif pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            columns[name] = values.to_numpy(dtype="float64", na_value=np.nan)
        else:
            codes = values.astype("category").cat.codes.to_numpy().astype("float64")
            columns[name] = np.where(codes < 0, np.nan, codes)
    return pd.DataFrame(columns, index=inputs.index)


def _sample(n_rows: int, max_points: int, seed: int) -> np.ndarray:
    if n_rows <= max_points:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(seed).choice(n_rows, size=max_points, replace=False))


def _aligned(contributions: pd.DataFrame | Contributions, inputs: pd.DataFrame) -> pd.DataFrame:
    values = _values(contributions)
    missing = [name for name in values.columns if name not in inputs.columns]
    if missing:
        raise ValueError(f"inputs lack {len(missing)} feature(s) of the contributions: "
                         f"{missing[:10]}")
    if len(inputs) != len(values):
        raise ValueError(f"inputs have {len(inputs)} rows, contributions {len(values)}: "
                         f"they must describe the same rows")
    return values


@styled
def beeswarm_plot(
    contributions: pd.DataFrame | Contributions,
    inputs: pd.DataFrame,
    *,
    max_display: int = 20,
    max_points: int = 5000,
    seed: int = 0,
    title: str | None = None,
) -> Figure:
    """SHAP beeswarm of the ``max_display`` most important features: each dot a row, its
    position the feature's push on the log-odds, its colour the feature's value (low blue to
    high red; categories by code). Drawn by ``shap.plots.beeswarm`` on the figure's axes; if shap
    fails, by a plain jittered scatter of the same information."""
    values = _aligned(contributions, inputs)
    rows = _sample(len(values), max_points, seed)
    shown = values.iloc[rows]
    numbers = numeric_view(inputs[list(values.columns)].iloc[rows])
    shown_names = list(mean_absolute_shap(values).index[:max_display])
    height = 1.2 + 0.32 * len(shown_names)
    # Wide enough for the longest feature name at the style's tick size, beside the plot.
    longest = max((len(str(name)) for name in shown_names), default=0)
    figure = Figure(figsize=(max(8.0, 5.5 + 0.062 * longest), height))
    axes = figure.subplots()
    try:
        import shap

        explanation = shap.Explanation(values=shown.to_numpy(), data=numbers.to_numpy(),
                                       feature_names=list(values.columns))
        # shap shuffles the drawing order with numpy's global generator: seeded here, the figure
        # depends on ``seed`` alone, not on what drew random numbers before it.
        state = np.random.get_state()
        np.random.seed(seed)
        try:
            shap.plots.beeswarm(explanation, max_display=max_display, ax=axes, show=False,
                                plot_size=None,
                                color_bar_label="feature value (categories by code)")
        finally:
            np.random.set_state(state)
    except Exception as error:  # noqa: BLE001 - any shap failure falls back to our own drawing
        logger.warning("shap's beeswarm failed (%s); drawing a plain scatter instead", error)
        figure.clear()
        axes = figure.subplots()
        _scatter_beeswarm(axes, shown, numbers, max_display, seed)
    for each in figure.axes:     # shap's own sizes (13 pt names) back to the style's
        each.tick_params(labelsize=TICK_SIZE)
        each.xaxis.label.set_size(LABEL_SIZE)
        each.yaxis.label.set_size(LABEL_SIZE)
    axes.set_xlabel("SHAP value (log-odds of bad; > 0 raises the PD)")
    axes.set_title(title or f"SHAP values of the top {min(max_display, values.shape[1])} "
                            f"features ({len(rows):,} rows)")
    return figure


def _scatter_beeswarm(axes: Axes, values: pd.DataFrame, numbers: pd.DataFrame,
                      max_display: int, seed: int) -> None:
    order = list(mean_absolute_shap(values).index[:max_display])
    generator = np.random.default_rng(seed)
    for position, name in enumerate(reversed(order)):
        x = values[name].to_numpy()
        colour = numbers[name].to_numpy()
        low, high = np.nanpercentile(colour, [5, 95]) if np.isfinite(colour).any() else (0, 1)
        scaled = np.clip((colour - low) / (high - low if high > low else 1.0), 0, 1)
        jitter = generator.uniform(-0.3, 0.3, len(x))
        present = np.isfinite(scaled)
        axes.scatter(x[~present], position + jitter[~present], s=6, color="#9a9a9a", alpha=0.5)
        axes.scatter(x[present], position + jitter[present], s=6, c=scaled[present],
                     cmap="coolwarm", vmin=0, vmax=1, alpha=0.6)
    axes.set_yticks(range(len(order)), list(reversed(order)), fontsize=8)
    axes.axvline(0, color="grey", linewidth=0.8)


def interaction_partner(
    feature: str,
    contributions: pd.DataFrame | Contributions,
    inputs: pd.DataFrame,
    *,
    max_rows: int = 10_000,
    seed: int = 0,
) -> str | None:
    """The feature whose values best explain what ``feature``'s SHAP values do beyond its own
    value: rows sorted by ``feature``, cut into bins of about 50, and in each bin the |correlation|
    of the SHAP values with each other feature (and with its being missing) summed over bins —
    shap's ``approximate_interactions``, on a seeded sample and with categories by code. None when
    no other feature varies with it."""
    values = _aligned(contributions, inputs)
    rows = _sample(len(values), max_rows, seed)
    numbers = numeric_view(inputs[list(values.columns)].iloc[rows])
    own = numbers[feature].to_numpy()
    order = np.argsort(own, kind="stable")
    target = values[feature].to_numpy()[rows][order]
    step = max(min(len(order) // 10, 50), 1)
    names = [name for name in values.columns if name != feature]
    if not names:
        return None
    others = numbers[names].to_numpy(dtype="float64")[order]
    present = np.isfinite(others)
    means = np.array([others[present[:, j], j].mean() if present[:, j].any() else 0.0
                      for j in range(len(names))])
    filled = np.where(present, others, means)
    scores = np.maximum(_binned_correlations(target, filled, step),
                        _binned_correlations(target, (~present).astype(float), step))
    if scores.max() <= 0:
        return None
    best = scores.max()
    return max(name for name, score in zip(names, scores, strict=True) if score == best)


def _binned_correlations(target: np.ndarray, others: np.ndarray, step: int) -> np.ndarray:
    """For each column of ``others``, the sum over consecutive bins of ``step`` rows of the
    |correlation| with ``target`` (bins where either side is constant add nothing); all columns
    at once, so a model of hundreds of features costs one pass over the bins."""
    totals = np.zeros(others.shape[1])
    for start in range(0, len(target), step):
        a, b = target[start:start + step], others[start:start + step]
        if len(a) < 2:
            continue
        a_centred = a - a.mean()
        b_centred = b - b.mean(axis=0)
        a_norm = np.sqrt(a_centred @ a_centred)
        b_norm = np.sqrt((b_centred * b_centred).sum(axis=0))
        varies = (b_norm > 0) & (a_norm > 0)
        totals[varies] += np.abs(a_centred @ b_centred[:, varies]) / (a_norm * b_norm[varies])
    return totals


@styled
def dependence_plots(
    contributions: pd.DataFrame | Contributions,
    inputs: pd.DataFrame,
    *,
    top_k: int = 4,
    features: Sequence[str] | None = None,
    max_points: int = 5000,
    seed: int = 0,
) -> dict[str, Figure]:
    """One dependence plot per feature (default: the ``top_k`` by mean |SHAP|): the feature's
    value against its SHAP value, coloured by its :func:`interaction_partner`'s value. Missing
    values are drawn at the left edge, in grey. Keyed by feature name, most important first."""
    values = _aligned(contributions, inputs)
    chosen = list(features) if features is not None else list(
        mean_absolute_shap(values).index[:top_k])
    rows = _sample(len(values), max_points, seed)
    numbers = numeric_view(inputs[list(values.columns)].iloc[rows])
    figures = {}
    for name in chosen:
        partner = interaction_partner(name, values, inputs, seed=seed)
        figures[name] = _dependence_figure(name, partner, values[name].to_numpy()[rows],
                                           numbers, inputs[name])
    return figures


def _dependence_figure(name: str, partner: str | None, shap_values: np.ndarray,
                       numbers: pd.DataFrame, raw: pd.Series) -> Figure:
    figure = Figure(figsize=(6.5, 4.5))
    axes = figure.subplots()
    x = numbers[name].to_numpy()
    present = np.isfinite(x)
    x_plot = x.copy()
    if (~present).any():
        finite = x[present]
        left = (finite.min() - 0.05 * (np.ptp(finite) or 1.0)) if len(finite) else 0.0
        x_plot[~present] = left
        axes.scatter(x_plot[~present], shap_values[~present], s=8, color="#9a9a9a", alpha=0.6,
                     label="missing")
    if partner is not None:
        colour = numbers[partner].to_numpy()
        low, high = (np.nanpercentile(colour, [5, 95]) if np.isfinite(colour).any() else (0, 1))
        points = axes.scatter(x_plot[present], shap_values[present], s=8,
                              c=colour[present], cmap="coolwarm", vmin=low,
                              vmax=high if high > low else low + 1, alpha=0.7)
        bar = figure.colorbar(points, ax=axes)
        bar.set_label(partner, fontsize=8)
    else:
        axes.scatter(x_plot[present], shap_values[present], s=8, color=_LOW, alpha=0.7)
    if isinstance(raw.dtype, pd.CategoricalDtype):
        categories = list(raw.dtype.categories)
        axes.set_xticks(range(len(categories)), [str(c) for c in categories], fontsize=8)
    axes.axhline(0, color="grey", linewidth=0.8)
    axes.set_xlabel(name, fontsize=9)
    axes.set_ylabel("SHAP value (log-odds)")
    axes.set_title(f"{name}\ncoloured by {partner}" if partner else name, fontsize=9)
    if (~present).any():
        axes.legend(loc="best", fontsize=8)
    return figure


def importance_drift(
    reference: pd.DataFrame | Contributions,
    current: pd.DataFrame | Contributions,
    names: tuple[str, str] = ("dev", "oot"),
) -> pd.DataFrame:
    """How each feature's mean |SHAP| moved from ``reference`` (e.g. development) to ``current``
    (e.g. out-of-time) rows.

    Columns: ``feature``, ``mean_abs_shap_<reference name>``, ``mean_abs_shap_<current name>``,
    ``change`` (current − reference), ``relative_change`` (change / reference; NaN when the
    reference is 0), ``rank_<reference name>``, ``rank_<current name>`` (1 = most important) and
    ``rank_change`` (reference rank − current rank: > 0 means the feature climbed). Sorted by the
    current importance."""
    first, second = names
    before, after = mean_absolute_shap(reference), mean_absolute_shap(current)
    features = list(dict.fromkeys([*before.index, *after.index]))
    before, after = before.reindex(features).fillna(0.0), after.reindex(features).fillna(0.0)
    table = pd.DataFrame({
        "feature": features,
        f"mean_abs_shap_{first}": before.to_numpy(),
        f"mean_abs_shap_{second}": after.to_numpy(),
    })
    table["change"] = table[f"mean_abs_shap_{second}"] - table[f"mean_abs_shap_{first}"]
    base = table[f"mean_abs_shap_{first}"]
    table["relative_change"] = np.where(base > 0, table["change"] / base.where(base > 0, 1.0),
                                        np.nan)
    table[f"rank_{first}"] = base.rank(ascending=False, method="first").astype("int64")
    table[f"rank_{second}"] = table[f"mean_abs_shap_{second}"].rank(
        ascending=False, method="first").astype("int64")
    table["rank_change"] = table[f"rank_{first}"] - table[f"rank_{second}"]
    return table.sort_values(f"mean_abs_shap_{second}", ascending=False,
                             kind="stable").reset_index(drop=True)


@styled
def importance_drift_plot(drift: pd.DataFrame, *, top: int = 20,
                          names: tuple[str, str] = ("dev", "oot")) -> Figure:
    """Paired bars of mean |SHAP| per feature on both samples (the ``top`` features by the larger
    of the two), with each feature's rank change written beside it."""
    first, second = names
    table = drift.assign(largest=drift[[f"mean_abs_shap_{first}",
                                        f"mean_abs_shap_{second}"]].max(axis=1))
    table = table.nlargest(top, "largest").iloc[::-1]
    figure = Figure(figsize=(8, 1.2 + 0.34 * len(table)))
    axes = figure.subplots()
    positions = np.arange(len(table))
    axes.barh(positions + 0.2, table[f"mean_abs_shap_{first}"], height=0.4, color=DEV_COLOUR,
              label=first)
    axes.barh(positions - 0.2, table[f"mean_abs_shap_{second}"], height=0.4, color=OOT_COLOUR,
              label=second)
    axes.set_yticks(positions, table["feature"], fontsize=8)
    for position, (_, row) in zip(positions, table.iterrows(), strict=True):
        change = int(row["rank_change"])
        text = "rank =" if change == 0 else f"rank {'+' if change > 0 else '−'}{abs(change)}"
        axes.text(row["largest"], position, f"  {text}", va="center", fontsize=7,
                  color="#b03a2e" if abs(change) >= 3 else "#333333")
    axes.set_xlabel("mean |SHAP| (log-odds)")
    axes.set_title(f"SHAP importance, {first} vs {second} (rank change: + climbed)")
    axes.legend(loc="lower right", fontsize=8)
    axes.margins(x=0.15)
    return figure
