"""Optimal monotonic binning with weight of evidence (WoE), the input a scorecard is fitted on.

Each feature is cut into bins by optbinning's :class:`~optbinning.OptimalBinning`: a decision tree
proposes pre-bins, then a constraint solver merges them into the bins of highest information value
(IV) whose bad rate moves in one direction (``monotonic_trend``), so that points in the scorecard
never contradict business logic. Missing values and special codes get bins of their own: in credit
data a missing value usually means something ("never late", "no order"), so it carries evidence.

Conventions, the domain's and optbinning's alike:

* ``WoE = ln(%good / %bad)`` per bin; a positive WoE means fewer bads than average.
* ``IV = Σ (%good − %bad) · WoE``; a bin with no good or no bad (a *pure* bin) has WoE 0 and
  adds nothing to IV, as in optbinning.
* A feature with no non-missing value in the development sample cannot be binned; it is kept with a
  single missing bin, WoE 0 and IV 0 (listed in ``empty_features_``), so that no column vanishes.
"""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import ClassifierTags, Tags
from sklearn.utils.validation import check_is_fitted
from tqdm import tqdm  # text bars: a notebook without ipywidgets shows them too

if TYPE_CHECKING:
    from optbinning import OptimalBinning

NUMERICAL, CATEGORICAL = "numerical", "categorical"
ASCENDING_OR_DESCENDING = "ascending_or_descending"
"""Solve the binning both ways and keep the direction of higher IV (this module's default)."""
MONOTONIC_TRENDS = (
    ASCENDING_OR_DESCENDING, "auto", "auto_heuristic", "auto_asc_desc", "ascending",
    "descending", "concave", "convex", "peak", "valley", "peak_heuristic", "valley_heuristic",
)
SOLVERS = ("cp", "mip")
MISSING_BIN, SPECIAL_BIN = "Missing", "Special"
UNKNOWN_CATEGORY = -1
"""Bin position of a category never seen in the development sample (see ``bin_indices``)."""


class WoeBinner(TransformerMixin, BaseEstimator):
    """Bin every feature optimally and monotonically, and transform values to their bin's WoE.

    Parameters mirror :class:`optbinning.OptimalBinning` (same names, same meaning) so that an
    analyst who knows the library knows these.

    Parameters
    ----------
    monotonic_trend:
        Trend of the bad rate over the bins: one of optbinning's trends, ``None`` (no constraint)
        or the default ``"ascending_or_descending"``, which solves both monotonic binnings and
        keeps the one of higher IV: what a scorecard needs, without knowing each feature's
        direction in advance. Why not optbinning's ``"auto_asc_desc"``: it guesses the direction
        from the pre-bins' shape *before* solving. On the simulated portfolio it guessed
        descending for a peaked feature (worst days past due in 365 days, whose bad rate rises
        then falls) and merged everything into one bin, IV 0 where ascending gives 0.22; over the
        default spec 8 fewer features reached IV 0.02 than with both directions solved. The price
        is two solves per numerical feature. Categories are ordered by bad rate before binning,
        so for them only the ascending binning is solved.
    max_n_prebins, min_prebin_size:
        Pre-binning by a decision tree: at most this many pre-bins, each holding at least this
        share of the rows; final bins merge pre-bins, so they are at least as large. The default
        0.02 (optbinning's is 0.05) lets a rare but telling segment have a bin: on the simulated
        portfolio the 2.5 % of rows currently past due (bad rate 45 % against 6 %) had IV 0 at
        0.05 and 0.47 at 0.02.
    max_n_bins, min_bin_size:
        Optional limits on the final bins (``None``: no limit beyond the pre-binning).
    cat_cutoff:
        Categories rarer than this share are grouped into one "others" bin (``None``: no grouping).
    special_codes:
        Numerical values that mean "not applicable" rather than a quantity (e.g. ``[-999]``); they
        get a bin of their own instead of distorting the ordered bins.
    categorical_features:
        Extra columns to bin as categories although their dtype is numerical (e.g. a coded
        ``city_tier``). Columns of category, string, object or boolean dtype always are.
    solver, time_limit:
        optbinning's solver (``"cp"`` constraint programming or ``"mip"``) and its time limit per
        feature, in seconds.
    n_jobs:
        Features binned in parallel (joblib); ``None`` means one at a time.
    user_splits:
        Cut points forced by hand, per numerical feature (``{"age": [25, 35, 50]}``): the bins
        are exactly these (optbinning's ``user_splits``, all fixed), with no trend, size or count
        limit imposed, because an analyst who sets them has reasons the optimiser cannot see
        (round numbers a policy reads, a segment kept apart). Each cut must leave goods and bads
        on both sides in the development sample, or ``fit`` says which cut does not.
    monotonic_trends:
        ``monotonic_trend`` per feature, over the default for the rest
        (``{"days_late": "ascending"}``): the direction business logic dictates for one
        characteristic, where the default would pick by IV. A feature cannot be named here and
        in ``user_splits`` (fixed bins are not merged to follow a trend).

    Attributes
    ----------
    binnings_: dict of feature name to its fitted :class:`~optbinning.OptimalBinning`.
    feature_kinds_: dict of feature name to ``"numerical"`` or ``"categorical"``.
    empty_features_: features with no non-missing development value (one missing bin, WoE 0).
    iv_: information value per feature (``pd.Series`` named ``iv``, in input order).
    n_bins_: ordered bins per feature, the special and missing bins not counted.
    n_good_, n_bad_: goods and bads in the development sample.
    n_features_in_, feature_names_in_: as in scikit-learn.

    Examples
    --------
    >>> frame = pd.DataFrame({"days_late": [0.0] * 60 + [10.0] * 40})
    >>> is_bad = np.r_[np.zeros(50), np.ones(10), np.zeros(30), np.ones(10)]
    >>> binner = WoeBinner().fit(frame, is_bad)
    >>> # IV = (50/80 − 10/20)·ln(1.25) + (30/80 − 10/20)·ln(0.75)
    >>> round(float(binner.iv_["days_late"]), 4)
    0.0639
    >>> binner.transform(frame)["days_late"].round(4).unique().tolist()
    [0.2231, -0.2877]
    """

    def __init__(
        self,
        *,
        monotonic_trend: str | None = ASCENDING_OR_DESCENDING,
        max_n_prebins: int = 20,
        min_prebin_size: float = 0.02,
        max_n_bins: int | None = None,
        min_bin_size: float | None = None,
        cat_cutoff: float | None = None,
        special_codes: Sequence[float] | None = None,
        categorical_features: Sequence[str] | None = None,
        solver: str = "cp",
        time_limit: int = 100,
        n_jobs: int | None = None,
        user_splits: dict[str, list[float]] | None = None,
        monotonic_trends: dict[str, str | None] | None = None,
    ) -> None:
        self.monotonic_trend = monotonic_trend
        self.max_n_prebins = max_n_prebins
        self.min_prebin_size = min_prebin_size
        self.max_n_bins = max_n_bins
        self.min_bin_size = min_bin_size
        self.cat_cutoff = cat_cutoff
        self.special_codes = special_codes
        self.categorical_features = categorical_features
        self.solver = solver
        self.time_limit = time_limit
        self.n_jobs = n_jobs
        self.user_splits = user_splits
        self.monotonic_trends = monotonic_trends

    # ------------------------------------------------------------------ fitting
    def fit(self, X: pd.DataFrame | np.ndarray, y: Any) -> WoeBinner:
        """Bin each column of ``X`` against the binary target ``y`` (bad = 1 or True)."""
        self._check_parameters()
        frame = feature_frame(self, X, reset=True)
        target = binary_target(y, len(frame))
        unknown = [name for name in self.categorical_features or () if name not in frame.columns]
        if unknown:
            raise ValueError(f"categorical_features not in X: {_preview(unknown)}")
        self.feature_kinds_ = {
            name: feature_kind(frame[name], forced=self.categorical_features or ())
            for name in frame.columns
        }
        self._check_overrides_against(frame)
        columns = {name: _column_values(frame[name], kind)
                   for name, kind in self.feature_kinds_.items()}
        binnable = [name for name, values in columns.items() if not pd.isna(values).all()]
        fitted = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_best)(self._candidates(name), columns[name], target)
            # The bar shows on a terminal and stays quiet in logs and tests (disable=None).
            for name in tqdm(binnable, desc="optimal binning", unit="feature", disable=None)
        )
        self.binnings_ = {name: binning for name, (binning, _) in zip(binnable, fitted,
                                                                    strict=True)}
        information_values = {name: iv for name, (_, iv) in zip(binnable, fitted, strict=True)}
        self.empty_features_ = [name for name in frame.columns if name not in self.binnings_]
        self.n_good_, self.n_bad_ = int((target == 0).sum()), int((target == 1).sum())
        self.iv_ = pd.Series(
            [information_values.get(name, 0.0) for name in frame.columns],
            index=frame.columns, name="iv", dtype="float64",
        )
        self.n_bins_ = pd.Series(   # the ordered bins: all but the special and missing ones
            [len(self.bin_counts(name)) - 2 if name in self.binnings_ else 0
             for name in frame.columns],
            index=frame.columns, name="n_bins", dtype="int64",
        )
        return self

    def _check_parameters(self) -> None:
        if self.monotonic_trend is not None and self.monotonic_trend not in MONOTONIC_TRENDS:
            raise ValueError(
                f"monotonic_trend must be one of {', '.join(MONOTONIC_TRENDS)} or None; "
                f"got {self.monotonic_trend!r}."
            )
        if self.solver not in SOLVERS:
            raise ValueError(f"solver must be one of {', '.join(SOLVERS)}; got {self.solver!r}.")
        _check_integer("max_n_prebins", self.max_n_prebins, minimum=2)
        _check_share("min_prebin_size", self.min_prebin_size, upper=0.5)
        if self.max_n_bins is not None:
            _check_integer("max_n_bins", self.max_n_bins, minimum=1)
        if self.min_bin_size is not None:
            _check_share("min_bin_size", self.min_bin_size, upper=0.5)
        if self.cat_cutoff is not None:
            _check_share("cat_cutoff", self.cat_cutoff, upper=1.0)
        _check_integer("time_limit", self.time_limit, minimum=1)
        check_feature_binning(self.user_splits, self.monotonic_trends)
        if self.special_codes is not None and isinstance(self.special_codes, str | bytes):
            raise ValueError(
                f"special_codes must be a list of numbers; got the string {self.special_codes!r}."
            )

    def _check_overrides_against(self, frame: pd.DataFrame) -> None:
        """The features ``user_splits`` and ``monotonic_trends`` name must be in ``X``, and forced
        cut points need a numerical feature."""
        for key, overrides in (("user_splits", self.user_splits),
                               ("monotonic_trends", self.monotonic_trends)):
            unknown = [name for name in overrides or {} if name not in frame.columns]
            if unknown:
                raise ValueError(f"{key} names feature(s) not in X: {_preview(unknown)}")
        categorical = [name for name in self.user_splits or {}
                       if self.feature_kinds_[name] == CATEGORICAL]
        if categorical:
            raise ValueError(f"user_splits are cut points of numerical features; categorical: "
                             f"{_preview(categorical)}")

    def _candidates(self, name: str) -> list[OptimalBinning]:
        splits = (self.user_splits or {}).get(name)
        if splits is not None:
            return [self._optimal_binning(name, None, splits=splits)]
        trends = self.monotonic_trends or {}
        trend = trends.get(name, self.monotonic_trend)
        if trend != ASCENDING_OR_DESCENDING:
            return [self._optimal_binning(name, trend)]
        if self.feature_kinds_[name] == CATEGORICAL:
            return [self._optimal_binning(name, "ascending")]
        return [self._optimal_binning(name, "ascending"), self._optimal_binning(name, "descending")]

    def _optimal_binning(self, name: str, monotonic_trend: str | None,
                         splits: Sequence[float] | None = None) -> OptimalBinning:
        """optbinning's binning of one feature; with ``splits``, exactly those bins (all fixed,
        no count or size limit that they could violate)."""
        # optbinning (and the matplotlib it loads) is imported at the first fit: the settings
        # that name a binner are checked, and a config error answers, without it.
        from optbinning import OptimalBinning

        forced = None if splits is None else [float(value) for value in splits]
        return OptimalBinning(
            name=name,
            dtype=self.feature_kinds_[name],
            monotonic_trend=monotonic_trend,
            max_n_prebins=self.max_n_prebins,
            min_prebin_size=self.min_prebin_size,
            max_n_bins=self.max_n_bins if forced is None else None,
            min_bin_size=self.min_bin_size if forced is None else None,
            user_splits=forced,
            user_splits_fixed=None if forced is None else [True] * len(forced),
            cat_cutoff=self.cat_cutoff,
            special_codes=list(self.special_codes) if self.special_codes is not None else None,
            solver=self.solver,
            time_limit=self.time_limit,
        )

    # -------------------------------------------------------------- transforming
    def transform(self, X: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        """Each value replaced by its bin's WoE; missing and special values by the WoE of their own
        bin, categories unseen in development by 0 (no evidence either way)."""
        return self._apply(X, metric="woe", dtype="float64")

    def bin_indices(
        self, X: pd.DataFrame | np.ndarray, *, features: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Each value replaced by the position of its bin in :meth:`binning_table` (special and
        missing bins included; :data:`UNKNOWN_CATEGORY` for a category unseen in development).

        Counting these positions in another sample gives its distribution over the development
        bins, which is what a population stability index compares. ``features``: only these
        fitted features, which are all a DataFrame then needs (a model scoring on a few of the
        binned features, see :func:`feature_frame`)."""
        return self._apply(X, metric="indices", dtype="int64", features=features)

    def _apply(self, X: pd.DataFrame | np.ndarray, metric: str, dtype: str,
               features: Sequence[str] | None = None) -> pd.DataFrame:
        check_is_fitted(self, "binnings_")
        if features is not None:
            for name in features:
                self._check_feature(name)
        frame = feature_frame(self, X, reset=False, features=features)
        result = {}
        for name in frame.columns:
            values = _column_values(frame[name], self.feature_kinds_[name])
            if name in self.binnings_:
                result[name] = self.binnings_[name].transform(
                    values, metric=metric, metric_special="empirical",
                    metric_missing="empirical",
                )
            elif metric == "woe":
                result[name] = np.zeros(len(values))
            else:   # the layout of an empty feature's table: ordered bin, special, missing
                result[name] = np.where(pd.isna(values), 2, 0)
        return pd.DataFrame(result, index=frame.index, columns=frame.columns).astype(dtype)

    def bin_counts(self, feature: str) -> np.ndarray:
        """Development rows per bin, in the order of :meth:`binning_table` (special and missing
        bins last), without building the table."""
        check_is_fitted(self, "binnings_")
        self._check_feature(feature)
        if feature in self.binnings_:
            table = self.binnings_[feature].binning_table
            return np.asarray(table.n_event + table.n_nonevent, dtype="int64")
        return np.array([0, 0, self.n_good_ + self.n_bad_], dtype="int64")

    def _check_feature(self, feature: str) -> None:
        if feature not in self.feature_kinds_:
            raise KeyError(f"no binning for {feature!r}; fitted features: "
                           f"{_preview(self.feature_kinds_)}")

    def binning_table(self, feature: str) -> pd.DataFrame:
        """optbinning's table for one feature: per bin the count, goods (non-event), bads
        (event), bad rate, WoE and IV, the special and missing bins last, then the totals."""
        check_is_fitted(self, "binnings_")
        self._check_feature(feature)
        if feature in self.binnings_:
            return self.binnings_[feature].binning_table.build()
        goods, bads = self.n_good_, self.n_bad_
        rows = goods + bads
        return pd.DataFrame(
            {
                "Bin": ["(-inf, inf)" if self.feature_kinds_[feature] == NUMERICAL else "[]",
                        SPECIAL_BIN, MISSING_BIN, ""],
                "Count": [0, 0, rows, rows],
                "Count (%)": [0.0, 0.0, 1.0, 1.0],
                "Non-event": [0, 0, goods, goods],
                "Event": [0, 0, bads, bads],
                "Event rate": [0.0, 0.0, bads / rows, bads / rows],
                "WoE": [0.0, 0.0, 0.0, ""],
                "IV": [0.0, 0.0, 0.0, 0.0],
                "JS": [0.0, 0.0, 0.0, 0.0],
            },
            index=[0, 1, 2, "Totals"],
        )

    def get_feature_names_out(self, input_features: Iterable[str] | None = None) -> np.ndarray:
        """The WoE columns keep their feature's name."""
        check_is_fitted(self, "binnings_")
        names = list(self.feature_kinds_)
        if input_features is not None and list(input_features) != names:
            raise ValueError(
                f"input_features must be the fitted features {_preview(names)}; "
                f"got {_preview(list(input_features))}"
            )
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self) -> Tags:
        return supervised_by_binary_target(super().__sklearn_tags__())


# ------------------------------------------------------------ helpers shared with selection
def supervised_by_binary_target(tags: Tags) -> Tags:
    """Tags of a transformer fitted against a binary target on DataFrames with missing values and
    categories. ``classifier_tags`` with ``multi_class=False`` is how scikit-learn's estimator
    checks learn that only a binary target makes sense here (they then generate one)."""
    tags.input_tags.allow_nan = True
    tags.input_tags.categorical = True
    tags.input_tags.string = True
    tags.target_tags.required = True
    tags.classifier_tags = ClassifierTags(multi_class=False)
    return tags


def feature_frame(
    estimator: BaseEstimator, X: Any, *, reset: bool, features: Sequence[str] | None = None
) -> pd.DataFrame:
    """``X`` as a DataFrame of feature columns, checked against what ``estimator`` was fitted on.

    A DataFrame keeps its columns and dtypes (categories stay categories, which a numpy array would
    lose); anything else is read as a 2-D array with columns ``x0, x1, …`` as scikit-learn names
    them. When fitted on a DataFrame, later frames must hold every fitted feature (extra columns
    are ignored, order does not matter); arrays are matched by position.

    ``features`` (when not ``reset``): the fitted features the estimator actually reads, e.g. a
    scorecard's selected ones. A DataFrame then needs only these, and the frame returned holds
    only these, in this order; an array still holds every fitted feature in fit order, since
    its columns are known by position only.
    """
    if sparse.issparse(X):
        raise TypeError("sparse input is not supported: binning needs dense columns (a DataFrame)")
    named = isinstance(X, pd.DataFrame)
    if named:
        frame = X
        odd = [name for name in frame.columns if not isinstance(name, str)]
        if odd:
            raise ValueError(f"feature names must be strings; got {_preview(map(repr, odd))}")
    else:
        array = np.asarray(X)
        if array.ndim != 2:
            raise ValueError(
                f"Expected a 2-D table of features (a DataFrame); got an array of shape "
                f"{array.shape}. Reshape your data: a single feature as array.reshape(-1, 1)."
            )
        frame = pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])
    if reset:
        _check_new_frame(frame)
        estimator.n_features_in_ = frame.shape[1]
        if named:
            estimator.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        elif hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
        return frame
    fitted_names = getattr(estimator, "feature_names_in_", None)
    if named and fitted_names is not None:
        needed = list(fitted_names) if features is None else list(features)
        missing = [name for name in needed if name not in frame.columns]
        if missing:
            what = ("fitted feature(s)" if features is None
                    else f"feature(s) {type(estimator).__name__} scores on")
            raise ValueError(f"{len(missing)} {what} missing from X: {_preview(missing)}")
        duplicated = [name for name in needed if (frame.columns == name).sum() > 1]
        if duplicated:
            raise ValueError(f"X holds feature(s) more than once: {_preview(duplicated)}; "
                             f"which column to read would be a guess")
        return frame[needed]
    if frame.shape[1] != estimator.n_features_in_:
        raise ValueError(
            f"X has {frame.shape[1]} features, but {type(estimator).__name__} is expecting "
            f"{estimator.n_features_in_} features as input."
        )
    names = fitted_names if fitted_names is not None else frame.columns
    frame = frame.set_axis(list(names), axis=1)
    return frame if features is None else frame[list(features)]


def _check_new_frame(frame: pd.DataFrame) -> None:
    if frame.shape[1] == 0:
        raise ValueError(f"0 feature(s) (shape={frame.shape}) while a minimum of 1 is required.")
    if len(frame) == 0:
        raise ValueError(f"0 sample(s) (shape={frame.shape}) while a minimum of 1 is required.")
    if not frame.columns.is_unique:
        duplicated = frame.columns[frame.columns.duplicated()].unique().tolist()
        raise ValueError(f"feature names must be unique; duplicated: {duplicated}")
    unsupported = {
        str(name): str(dtype) for name, dtype in frame.dtypes.items()
        if pd.api.types.is_datetime64_any_dtype(dtype)
        or pd.api.types.is_timedelta64_dtype(dtype)
        or pd.api.types.is_complex_dtype(dtype)
    }
    if unsupported:
        complex_note = "Complex data not supported. " if "complex" in str(unsupported) else ""
        raise ValueError(
            f"{complex_note}features must be numerical or categorical; got {unsupported}. "
            f"Pass only the feature columns (e.g. matrix.frame[matrix.feature_names]), not keys "
            f"like as_of."
        )


def binary_target(y: Any, n_rows: int) -> np.ndarray:
    """The target as 0 (good) / 1 (bad) integers; missing labels, other values or a single class
    are errors, since WoE needs both goods and bads."""
    if y is None:
        raise ValueError("this estimator requires y to be passed, but the target y is None")
    series = pd.Series(np.asarray(y) if not isinstance(y, pd.Series) else y.to_numpy())
    if series.ndim != 1 or len(series) != n_rows:
        raise ValueError(f"y must hold one label per row of X ({n_rows}); got {len(series)}")
    if series.isna().any():
        raise ValueError(
            f"y has {int(series.isna().sum())} missing label(s); drop unlabelled rows first"
        )
    values = set(pd.unique(series).tolist())
    if not values <= {0, 1}:   # True == 1 and False == 0, so booleans pass
        raise ValueError(
            f"y must be binary (bad = 1 or True, good = 0 or False); got values "
            f"{sorted(map(str, values))[:5]}"
        )
    target = series.astype("int64").to_numpy()
    if len(values) < 2:
        raise ValueError(
            f"y must contain both goods and bads; got only {'bads' if target[0] else 'goods'} "
            f"(one class)"
        )
    return target


def feature_kind(column: pd.Series, forced: Iterable[str] = ()) -> str:
    """Categorical for category / string / object / boolean dtypes and for ``forced`` names."""
    dtype = column.dtype
    if column.name in set(forced):
        return CATEGORICAL
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dtype):
        return CATEGORICAL
    if pd.api.types.is_numeric_dtype(dtype):
        return NUMERICAL
    return CATEGORICAL


def _column_values(column: pd.Series, kind: str) -> np.ndarray:
    """The values optbinning reads, every missing spelling (NaN, None, ``pd.NA``, NaT) as NaN, so
    that it lands in the missing bin whatever the column's dtype at scoring time."""
    if kind == NUMERICAL:
        if not (pd.api.types.is_numeric_dtype(column.dtype)
                or pd.api.types.is_bool_dtype(column.dtype)):
            _check_numbers(column)
        return column.to_numpy(dtype="float64", na_value=np.nan)
    values = column.astype(object).to_numpy()
    return np.where(pd.isna(values), np.nan, values).astype(object)


def _check_numbers(column: pd.Series) -> None:
    """A numerical feature that arrives as object, string or category (a CSV read without
    dtypes, a column holding None) may hold numbers and missing values only: text such as
    ``""`` or ``"NA"`` is refused rather than guessed a number or a missing value."""
    values = column.astype(object)
    odd = ~values.isna() & ~values.map(
        lambda value: isinstance(value, numbers.Number) and not isinstance(value, complex)
    ).astype(bool)
    if odd.any():
        rows = ", ".join(f"{index!r}: {value!r}" for index, value in values[odd].head(5).items())
        raise ValueError(
            f"feature {column.name!r} was binned as numerical but X holds {int(odd.sum())} "
            f"value(s) that are not numbers (dtype {column.dtype}), e.g. rows {{{rows}}}: "
            f"convert the column to numbers, missing values as NaN or None"
        )


def _fit_best(
    candidates: list[OptimalBinning], values: np.ndarray, target: np.ndarray
) -> tuple[OptimalBinning, float]:
    """Fit each candidate; the one of highest IV wins, the first on a tie."""
    best, best_iv = candidates[0], -np.inf
    for binning in candidates:
        try:
            binning.fit(values, target)
        except ValueError as error:
            if binning.user_splits is None or "user_splits" not in str(error):
                raise
            # optbinning: "Fixed user_splits [150] are removed because produce pure prebins."
            cuts = str(error).split("]")[0].split("[")[-1]
            raise ValueError(
                f"user_splits[{binning.name!r}]: cut point(s) [{cuts}] leave a bin without goods "
                f"or without bads in the development sample (an empty bin, or one outside the "
                f"values), which gets no WoE; move or drop them"
            ) from None
        table = binning.binning_table
        iv = information_value(table.n_nonevent, table.n_event)
        if iv > best_iv:
            best, best_iv = binning, iv
    return best, best_iv


def check_feature_binning(user_splits: Any, monotonic_trends: Any) -> None:
    """Per-feature binning settings, checked before any data are read: ``user_splits`` maps
    feature names to strictly increasing finite numbers, ``monotonic_trends`` maps them to a
    trend (or None), and no feature is in both. ``ValueError`` names the key and the value."""
    for key, overrides in (("user_splits", user_splits), ("monotonic_trends", monotonic_trends)):
        if overrides is not None and not isinstance(overrides, Mapping):
            raise ValueError(f"{key} must be a mapping of feature name to "
                             f"{'cut points' if key == 'user_splits' else 'trend'} or None; "
                             f"got {overrides!r}.")
    for name, splits in (user_splits or {}).items():
        listed = isinstance(splits, Iterable) and not isinstance(splits, str | bytes)
        values = list(splits) if listed else None
        if values is None:
            raise ValueError(f"user_splits[{name!r}] must be a list of cut points; "
                             f"got {splits!r}.")
        numeric = all(isinstance(value, numbers.Real) and not isinstance(value, bool)
                      and np.isfinite(value) for value in values)
        if not values or not numeric or any(b <= a for a, b in itertools.pairwise(values)):
            raise ValueError(f"user_splits[{name!r}] must be finite numbers in strictly "
                             f"increasing order, at least one; got {values!r}.")
    for name, trend in (monotonic_trends or {}).items():
        if trend is not None and trend not in MONOTONIC_TRENDS:
            raise ValueError(f"monotonic_trends[{name!r}] must be one of "
                             f"{', '.join(MONOTONIC_TRENDS)} or None; got {trend!r}.")
    both = [name for name in user_splits or {} if name in (monotonic_trends or {})]
    if both:
        raise ValueError(f"user_splits fix the bins of {_preview(both)}, which monotonic_trends "
                         f"names too: fixed bins are not merged to follow a trend; keep one")


def information_value(goods: np.ndarray, bads: np.ndarray) -> float:
    """IV = Σ (%good − %bad) · ln(%good / %bad) over bins with both goods and bads, as in
    optbinning's binning table (whose ``build`` costs ten times more than this sum)."""
    goods, bads = np.asarray(goods, dtype="float64"), np.asarray(bads, dtype="float64")
    both = (goods > 0) & (bads > 0)
    good_share, bad_share = goods[both] / goods.sum(), bads[both] / bads.sum()
    return float(np.sum((good_share - bad_share) * np.log(good_share / bad_share)))


def _check_integer(name: str, value: Any, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}.")


def _check_share(name: str, value: Any, *, upper: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= upper:
        raise ValueError(f"{name} must be in (0, {upper}]; got {value!r}.")


def _preview(names: Iterable[str], limit: int = 5) -> str:
    names = list(names)
    shown = ", ".join(map(str, names[:limit]))
    return f"[{shown}{', …' if len(names) > limit else ''}] ({len(names)})"
