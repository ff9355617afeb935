"""A logged model's input example, made of no customer: one synthetic row of typical values.

MLflow stores the input example beside the model (``input_example.json``, the serving example),
where anyone who can read the run can read it. Real rows would put customers' attributes there;
a row of per-column medians (numbers) and most common values (categories) shows a caller the
shape of a request just as well. The signature is inferred from that row and a copy of it with
nulls where the data have missing values: the same column types as real rows give, and every
column that can be unknown marked optional (not only those missing in a handful of rows).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from credit_models.tracking.pd_pyfunc import public_inputs


def typical_value(column: pd.Series) -> object:
    """The median of a numeric column (rounded for integers), else its most common value; for a
    column with no value at all, its first category or None."""
    present = column.dropna()
    if pd.api.types.is_bool_dtype(column.dtype) or not pd.api.types.is_numeric_dtype(column.dtype):
        if present.empty:
            categories = getattr(column.dtype, "categories", None)
            return categories[0] if categories is not None and len(categories) else None
        counts = present.value_counts(sort=False)
        return counts.index[int(np.argmax(counts.to_numpy()))]   # ties: the first seen
    median = present.median() if len(present) else np.nan
    if pd.api.types.is_integer_dtype(column.dtype) and pd.notna(median):
        return round(float(median))
    return median


def synthetic_input_example(inputs: pd.DataFrame) -> pd.DataFrame:
    """One row of ``inputs``' typical values, in the form a caller sends (see
    :func:`~credit_models.tracking.pd_pyfunc.public_inputs`) and with ``inputs``' dtypes."""
    if inputs.empty:
        raise ValueError("an input example needs at least one row to take typical values from")
    row = pd.DataFrame(
        {name: pd.Series([typical_value(inputs[name])]).astype(inputs[name].dtype)
         for name in inputs.columns}
    )
    return public_inputs(row)


def signature_rows(inputs: pd.DataFrame) -> pd.DataFrame:
    """Two rows to infer a signature from: the synthetic example (the first row, which callers
    log as the input example), and the same with nulls in the columns that have missing values in
    ``inputs``."""
    example = synthetic_input_example(inputs)
    unknown = example.copy()
    for name in inputs.columns[inputs.isna().any().to_numpy()]:
        unknown[name] = None if unknown[name].dtype == object else np.nan
    return pd.concat([example, unknown], ignore_index=True)
