"""Out-of-time split by snapshot date: develop on the past, test on the latest period. A random
split overstates performance in credit; time is the default axis of the test.

Before the out-of-time (OOT) period, rows are held out for early stopping and calibration in one
of two ways (``holdout``):

* ``customers`` (default): by customer, so that development reaches the OOT start (the most
  recent behaviour is fitted on) and no customer is both fitted on and stopped/calibrated on;
* ``months``: the last snapshot months before the OOT period, as a classic time split.

Customers can also be grouped across the OOT boundary (``group_customers``, see
:mod:`customer_groups`): the model is then never judged on a customer it was fitted on, at the
cost of rows kept as ``unused``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np
import pandas as pd

from credit_models.errors import ConfigError, TrainingDataError, enum_choice
from credit_models.split.customer_groups import customer_uniforms
from credit_models.split.names import (
    CALIBRATION,
    DEVELOPMENT,
    OUT_OF_TIME,
    UNUSED,
    VALIDATION,
)

Fold = tuple[np.ndarray, np.ndarray]

logger = logging.getLogger("credit_models.split")

UNUSED_WARNING_SHARE = 0.2
"""Above this share of ``unused`` rows the split warns: the data are mostly thrown away."""

AUTO = "auto"

MONTHS_DEFAULTS = {"valid_months": 2, "calibration_months": 2}
CUSTOMERS_DEFAULTS = {"valid_share": 0.15, "calibration_share": 0.15}
DEFAULT_OOT_MONTHS = 3
DEFAULT_HOLDOUT_SHARE = 0.3

_USED_WITH = {
    "valid_share": "split.holdout=customers", "calibration_share": "split.holdout=customers",
    "valid_months": "split.holdout=months", "calibration_months": "split.holdout=months",
    "holdout_share": "split.holdout=months", "oot_months": "split.oot_start=null",
}


class Holdout(str, Enum):
    """How validation and calibration rows are held out of development before the OOT period."""

    months = "months"
    customers = "customers"


@dataclass(frozen=True)
class OutOfTimeSplit:
    """Periods, latest last, counted in distinct snapshot dates::

        holdout=customers:  development + valid + calibration (by customer) | OOT
        holdout=months:     development | valid_months | calibration_months | OOT

    The OOT period is the last ``oot_months`` snapshot dates, or every row on or after
    ``oot_start`` when it is set. A null field takes its mode's default; a field the mode does
    not use (``valid_months``/``calibration_months`` with customers, ``valid_share``/
    ``calibration_share`` with months, ``oot_months`` with ``oot_start``, ``holdout_share`` with
    customers) is a ConfigError when given, so that no setting is silently ignored.

    ``group_customers`` ("the model is never judged on a customer it was fitted on"): in months
    mode a share ``holdout_share`` of customers is drawn as held out, only their validation,
    calibration and OOT rows are used and only the other customers' development rows; in
    customers mode the OOT rows of customers with development rows are left out. The rest is kept
    as ``unused``, counted and logged (a WARNING above 20 % of the rows). ``"auto"`` groups only
    in months mode and only when some customer has labelled rows at more than one snapshot date:
    with one snapshot per customer nothing can straddle two periods, and in customers mode the OOT
    test is the same portfolio's future, as a behaviour score is used. :meth:`assign` logs the
    resolved choice and why.
    """

    holdout: Holdout = Holdout.customers
    valid_months: int | None = None
    """Months mode: snapshot months for early stopping, just before the calibration period (2)."""
    calibration_months: int | None = None
    """Months mode: snapshot months for calibration, just before the OOT period (2; 0 = none)."""
    valid_share: float | None = None
    """Customers mode: share of customers whose pre-OOT rows are for early stopping (0.15)."""
    calibration_share: float | None = None
    """Customers mode: share of customers whose pre-OOT rows are for calibration (0.15; 0 =
    none)."""
    oot_months: int | None = None
    """The latest labelled snapshot months: the OOT period (3); not used with ``oot_start``."""
    oot_start: str | None = None
    """ISO date: the OOT period is every row with ``as_of >= oot_start`` (UTC when no zone)."""
    group_customers: bool | str = AUTO
    """``"auto"``, true or false: see the class docstring."""
    holdout_share: float | None = None
    """Months mode with grouping: share of customers held out from fitting (0.3)."""
    cv_folds: int = 0
    """Grouped time-series cross-validation folds on the development period (0 = none)."""
    seed: int = 7

    evaluation_split = OUT_OF_TIME
    cv_includes_test = False
    """Its folds stay inside the development period."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "holdout", enum_choice(Holdout, self.holdout, "split.holdout"))
        object.__setattr__(self, "group_customers", _group_choice(self.group_customers))
        unused = {
            Holdout.months: ("valid_share", "calibration_share"),
            Holdout.customers: ("valid_months", "calibration_months", "holdout_share"),
        }[self.holdout]
        if self.oot_start is not None:
            unused += ("oot_months",)
        given = [name for name in unused if getattr(self, name) is not None]
        if given:
            raise ConfigError(
                f"split.holdout={self.holdout.value}"
                + (f" with split.oot_start={self.oot_start}" if self.oot_start else "")
                + " does not use " + ", ".join(f"split.{name} (used with {_USED_WITH[name]})"
                                               for name in given)
                + (": set it to null" if len(given) == 1 else ": set them to null")
            )
        if self.oot_start is not None:
            _ = self._oot_boundary()        # an unparsable date fails now, before any data
        lengths = self._months()
        for name in (VALIDATION, OUT_OF_TIME):
            if name in lengths and lengths[name] < 1:
                key = "valid_months" if name == VALIDATION else "oot_months"
                raise ConfigError(f"split.{key} must be >= 1; got {lengths[name]}")
        if lengths.get(CALIBRATION, 0) < 0:
            raise ConfigError(
                f"split.calibration_months must be >= 0; got {lengths[CALIBRATION]}"
            )
        if self.holdout is Holdout.customers:
            shares = self._shares()
            if not 0 < shares[VALIDATION] < 1:
                raise ConfigError(
                    f"split.valid_share must be in (0, 1); got {shares[VALIDATION]}"
                )
            if not 0 <= shares[CALIBRATION] < 1:
                raise ConfigError(
                    f"split.calibration_share must be in [0, 1); got {shares[CALIBRATION]}"
                )
            if shares[VALIDATION] + shares[CALIBRATION] >= 1:
                raise ConfigError(
                    f"split.valid_share + split.calibration_share must be < 1 (development "
                    f"keeps the rest); got {shares[VALIDATION]} + {shares[CALIBRATION]}"
                )
        if self.cv_folds < 0 or self.cv_folds == 1:
            raise ConfigError(f"split.cv_folds must be 0 (none) or >= 2; got {self.cv_folds}")
        if not 0 < self._holdout_share() < 1:
            raise ConfigError(
                f"split.holdout_share must be in (0, 1); got {self._holdout_share()}"
            )

    @property
    def periods(self) -> tuple[str, ...]:
        calibrated = (self._shares()[CALIBRATION] if self.holdout is Holdout.customers
                      else self._months()[CALIBRATION])
        middle = (CALIBRATION,) if calibrated else ()
        return (DEVELOPMENT, VALIDATION, *middle, OUT_OF_TIME)

    def assign(self, rows: pd.DataFrame) -> pd.Series:
        """The split of every row (columns customer_id, as_of), indexed as ``rows``: rows are
        never dropped, rows grouped out of every period are ``unused``. Logs the resolved
        grouping (INFO) and warns when more than 20 % of the rows are unused."""
        as_of = rows["as_of"]
        oot = self._oot_mask(as_of)
        period = np.full(len(rows), DEVELOPMENT, dtype=object)
        period[oot] = OUT_OF_TIME
        if self.holdout is Holdout.months:
            self._assign_months(as_of, oot, period)
        else:
            self._assign_customers(rows["customer_id"], oot, period)
        grouped, reason = self._grouping(rows)
        if grouped:
            customer_id = rows["customer_id"]
            if self.holdout is Holdout.months:
                held_out = customer_uniforms(customer_id, self.seed) < self._holdout_share()
                keep = np.where(period == DEVELOPMENT, ~held_out, held_out)
            else:
                fitted = customer_id[period == DEVELOPMENT].unique()
                keep = ~(oot & customer_id.isin(fitted).to_numpy())
            period = np.where(keep, period, UNUSED)
        split = pd.Series(period, index=rows.index, dtype="str")
        logger.info("split: holdout=%s, group_customers=%s → %s (%s)", self.holdout.value,
                    _text(self.group_customers), "on" if grouped else "off", reason)
        self._warn_if_unused(split)
        return split

    def folds(self, rows: pd.DataFrame, split: pd.Series) -> list[Fold]:
        """Grouped time-series folds inside the development period: fold k evaluates one of the
        last ``cv_folds`` development months on a customer group, training on the earlier months
        of the other customers, so no fold sees its own future or its own customers."""
        if not self.cv_folds:
            return []
        development = rows[(split == DEVELOPMENT).to_numpy()]
        dates = sorted(development["as_of"].unique())
        if len(dates) < self.cv_folds + 1:
            raise TrainingDataError(
                f"time-series CV with {self.cv_folds} folds needs at least {self.cv_folds + 1} "
                f"development snapshot dates; got {len(dates)}"
            )
        group = np.floor(
            customer_uniforms(development["customer_id"], self.seed + 1) * self.cv_folds
        ).astype(int)
        folds = []
        for fold, evaluated in enumerate(dates[-self.cv_folds:]):
            in_group = group == fold
            train = development.index[(development["as_of"] < evaluated).to_numpy() & ~in_group]
            held = development.index[(development["as_of"] == evaluated).to_numpy() & in_group]
            folds.append((np.asarray(train), np.asarray(held)))
        return folds

    # ----------------------------------------------------------------------------- resolution

    def _months(self) -> dict[str, int]:
        """Snapshot months per period that is counted in months (null → the default)."""
        lengths: dict[str, int] = {}
        if self.holdout is Holdout.months:
            lengths[VALIDATION] = _or(self.valid_months, MONTHS_DEFAULTS["valid_months"])
            lengths[CALIBRATION] = _or(self.calibration_months,
                                       MONTHS_DEFAULTS["calibration_months"])
        if self.oot_start is None:
            lengths[OUT_OF_TIME] = _or(self.oot_months, DEFAULT_OOT_MONTHS)
        return lengths

    def _shares(self) -> dict[str, float]:
        return {VALIDATION: _or(self.valid_share, CUSTOMERS_DEFAULTS["valid_share"]),
                CALIBRATION: _or(self.calibration_share, CUSTOMERS_DEFAULTS["calibration_share"])}

    def _holdout_share(self) -> float:
        return _or(self.holdout_share, DEFAULT_HOLDOUT_SHARE)

    def _grouping(self, rows: pd.DataFrame) -> tuple[bool, str]:
        """Whether customers are grouped on these rows, and why (for the log)."""
        if self.group_customers != AUTO:
            return bool(self.group_customers), "set explicitly"
        if self.holdout is Holdout.customers:
            return False, ("auto: holdout=customers, the OOT test is the same portfolio's future "
                           "and no customer is both fitted and stopped/calibrated on")
        pairs = rows[["customer_id", "as_of"]].drop_duplicates()
        if pairs["customer_id"].duplicated().any():
            return True, "auto: customers have labelled rows at more than one snapshot date"
        return False, "auto: one labelled snapshot per customer, no customer can straddle periods"

    def _oot_boundary(self) -> pd.Timestamp:
        """``oot_start`` as a UTC timestamp."""
        try:
            boundary = pd.Timestamp(self.oot_start)
        except (TypeError, ValueError) as error:
            raise ConfigError(
                f"split.oot_start must be an ISO date such as 2024-01-01; got "
                f"{self.oot_start!r} ({error})"
            ) from None
        if pd.isna(boundary):
            raise ConfigError(
                f"split.oot_start must be an ISO date such as 2024-01-01; got {self.oot_start!r}"
            )
        return (boundary.tz_localize("UTC") if boundary.tzinfo is None
                else boundary.tz_convert("UTC"))

    # ----------------------------------------------------------------------------- assignment

    def _oot_mask(self, as_of: pd.Series) -> np.ndarray:
        dates = sorted(as_of.unique())
        if self.oot_start is None:
            lengths = self._months()
            needed = sum(lengths.values()) + 1
            if len(dates) < needed:
                described = (
                    f"{lengths[VALIDATION]} validation, {lengths[CALIBRATION]} calibration and "
                    if self.holdout is Holdout.months else "")
                raise TrainingDataError(
                    f"an out-of-time split with {described}{lengths[OUT_OF_TIME]} OOT snapshot "
                    f"months needs at least {needed} labelled snapshot dates; got {len(dates)} "
                    f"({_dates(dates)})"
                )
            return (as_of >= dates[-lengths[OUT_OF_TIME]]).to_numpy()
        boundary = self._oot_boundary()
        if getattr(as_of.dtype, "tz", None) is None:
            boundary = boundary.tz_localize(None)     # naive snapshot dates are read as UTC
        oot = (as_of >= boundary).to_numpy()
        if not len(dates) or oot.all() or not oot.any():
            side = "out-of-time period" if not oot.any() else "period before it"
            span = (f"the snapshot dates run from {_date(dates[0])} to {_date(dates[-1])}"
                    if dates else "there are no rows")
            raise TrainingDataError(
                f"split.oot_start={self.oot_start} leaves no labelled rows in the {side}: {span}"
            )
        return oot

    def _assign_months(self, as_of: pd.Series, oot: np.ndarray, period: np.ndarray) -> None:
        """The last ``calibration_months`` pre-OOT dates → calibration, the ``valid_months``
        before them → validation."""
        lengths = self._months()
        before = sorted(as_of[~oot].unique())
        needed = lengths[VALIDATION] + lengths[CALIBRATION] + 1
        if len(before) < needed:
            raise TrainingDataError(
                f"split.holdout=months with {lengths[VALIDATION]} validation and "
                f"{lengths[CALIBRATION]} calibration snapshot months needs at least {needed} "
                f"labelled snapshot dates before the OOT period; got {len(before)} "
                f"({_dates(before)})"
            )
        end = len(before)
        for name in (CALIBRATION, VALIDATION):
            if lengths[name]:
                start = end - lengths[name]
                upper = before[end] if end < len(before) else None
                inside = (as_of >= before[start]).to_numpy() & ~oot
                if upper is not None:
                    inside &= (as_of < upper).to_numpy()
                period[inside] = name
                end = start

    def _assign_customers(self, customer_id: pd.Series, oot: np.ndarray,
                          period: np.ndarray) -> None:
        """Each customer's pre-OOT rows → validation, calibration or development, by a draw on
        the customer (all of one customer's rows in one split)."""
        shares = self._shares()
        draw = customer_uniforms(customer_id, self.seed)
        valid = draw < shares[VALIDATION]
        calibration = ~valid & (draw < shares[VALIDATION] + shares[CALIBRATION])
        period[~oot & valid] = VALIDATION
        period[~oot & calibration] = CALIBRATION
        before = customer_id[~oot]
        for name in self.periods[:-1]:
            if not (period == name).any():
                raise TrainingDataError(
                    f"split.holdout=customers drew no customer into {name} among the "
                    f"{before.nunique()} customer(s) with rows before the OOT period "
                    f"(valid_share={shares[VALIDATION]}, calibration_share="
                    f"{shares[CALIBRATION]}): the data need more customers"
                )

    def _warn_if_unused(self, split: pd.Series) -> None:
        """Only grouping leaves rows unused: the warning names its settings."""
        unused = int((split == UNUSED).sum())
        if not len(split) or unused <= UNUSED_WARNING_SHARE * len(split):
            return
        setting = _text(self.group_customers) + (
            " (on: customers are labelled at several snapshot dates)"
            if self.group_customers == AUTO else "")
        if self.holdout is Holdout.months:
            cause = (f"split.group_customers={setting} with "
                     f"split.holdout_share={self._holdout_share()} keeps only held-out customers' "
                     f"validation, calibration and OOT rows and the others' development rows")
        else:
            cause = (f"split.group_customers={setting} leaves out the OOT "
                     f"rows of customers with development rows")
        logger.warning(
            "split: %d of %d rows (%.0f %%) are unused: %s; split.group_customers=false (or "
            "auto with split.holdout=customers) uses them", unused, len(split),
            100 * unused / len(split), cause,
        )


def _group_choice(value: Any) -> bool | str:
    """``group_customers`` as True, False or ``"auto"`` (the texts "true"/"false" as booleans,
    as an environment variable or a quoted YAML value gives them)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, str) else None
    if text in ("true", "false"):
        return text == "true"
    if text == AUTO:
        return AUTO
    raise ConfigError(f"split.group_customers must be one of ['auto', true, false]; got {value!r}")


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


def _text(value: bool | str) -> str:
    return str(value).lower()


def _date(value: Any) -> str:
    return str(pd.Timestamp(value).date())


def _dates(dates: list) -> str:
    return ", ".join(_date(date) for date in dates)
