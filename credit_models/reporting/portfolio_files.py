"""The files of ``credit-models-data describe``: a portfolio's aggregates as CSV and figures, in a
folder the toolkit owns (built aside and moved into place whole)."""

from __future__ import annotations

import shutil
from pathlib import Path

from credit_models.data.folders import (
    entries_not_written_by,
    replace_folder,
    staging_folder,
    write_marker,
)
from credit_models.reporting.portfolio_plots import (
    monthly_volume_plot,
    roll_rate_heatmap,
    vintage_curves_plot,
)
from credit_models.workflows.portfolio_description import PortfolioDescription

WRITER = "portfolio_description"


def write_portfolio_description(description: PortfolioDescription, target: Path,
                                source: str) -> Path:
    """Write the CSV files and PNG figures into ``target`` (absent, empty, or written by this
    function before; anything else is refused before a file is written)."""
    staging = staging_folder(target)
    try:
        description.monthly_volume.to_csv(staging / "monthly_volume.csv", index=False)
        description.vintage_curves.to_csv(staging / "vintage_curves.csv", index=False)
        (description.vintage_curves
         .pivot(index="cohort", columns="months_on_book", values="bad_share")
         .to_csv(staging / "vintage_matrix.csv"))
        description.roll_rates.counts.to_csv(staging / "roll_rate_counts.csv")
        description.roll_rates.shares.to_csv(staging / "roll_rate_shares.csv")
        figures = {
            "monthly_volume.png": monthly_volume_plot(description.monthly_volume),
            "vintage_curves.png": vintage_curves_plot(description.vintage_curves),
            "roll_rates.png": roll_rate_heatmap(description.roll_rates),
        }
        for name, figure in figures.items():
            figure.savefig(staging / name, dpi=110)
        write_marker(staging, WRITER, source, {
            "first_month": str(description.first_month), "last_month": str(description.last_month),
        })
        replace_folder(staging, target, foreign=entries_not_written_by(WRITER),
                       fix="Choose another describe.output, or move that folder away.")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target
