"""Adapters: public data sets converted into the event-data contract.

Each ``convert_*`` function takes the path of the source file and returns an
:class:`AdaptedDataset` (tables, manifest, report); write it with
:func:`credit_models.data.io.write_tables`. How each source maps onto the contract, and what is left
out, is in ``data/adapters.md``. :func:`uci_taiwan_sample` makes a small synthetic file in the UCI
Taiwan layout, for trying the adapter and the presets without the real data.
"""

from credit_models.data.adapters.common import AdaptedDataset, SourceDataError
from credit_models.data.adapters.german_credit import convert_german_credit
from credit_models.data.adapters.uci_taiwan import convert_uci_taiwan
from credit_models.data.adapters.uci_taiwan_sample import UCI_COLUMN_MEANINGS, uci_taiwan_sample
from credit_models.data.io import empty_table

__all__ = [
    "UCI_COLUMN_MEANINGS",
    "AdaptedDataset",
    "SourceDataError",
    "convert_german_credit",
    "convert_uci_taiwan",
    "empty_table",
    "uci_taiwan_sample",
]
