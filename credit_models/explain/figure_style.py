"""The one look of every figure the toolkit draws: fonts, sizes, grid, spines and layout, applied
by :func:`styled` around each function that builds a figure.

The font family is a list, not a generic name: Latin text in DejaVu Sans (matplotlib's own), and
any glyph it lacks — the Chinese of a reason text — from a Simplified-Chinese font when one is
available (matplotlib falls back glyph by glyph along the list). The list is stored in each text
when it is created, so a figure renders the same wherever it is saved later, inside this style or
not. Where no Chinese font is found the figures still draw (warned once); :func:`cjk_font` tells a
caller whether to show Chinese text at all.

Figures use the constrained layout, which makes room for long tick labels and titles instead of
clipping them.

The module sits in the stages layer, beside the SHAP figures of :mod:`.global_explanations` that
use it; the report modules above import it from here (a stage may not import a report module).
"""

from __future__ import annotations

import functools
import importlib.resources
import logging
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

import matplotlib
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

logger = logging.getLogger(__name__)

BASE_FONT = "DejaVu Sans"
"""Latin text and digits: shipped with matplotlib, so present everywhere."""
CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
             "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", "SimHei")
"""Simplified-Chinese fonts looked for among the installed ones, best first."""
PACKAGED_CJK_FONT = ("mplfonts", "fonts/NotoSansCJKsc-Regular.otf")
"""The Noto Sans CJK SC file the ``mplfonts`` dependency ships (package, path inside it): used
when no system font has Chinese glyphs."""

WIDE_TITLE = 0.55
"""A title wider than this share of its figure is checked against the laid-out figure."""
FONT_SIZE = 9.0
TITLE_SIZE = 11.0
LABEL_SIZE = 9.0
TICK_SIZE = 8.0
LEGEND_SIZE = 8.0

P = ParamSpec("P")
R = TypeVar("R")


def use_file_backend() -> None:
    """Draw with Agg (to files, never a window) in jobs and scripts; inside a notebook kernel keep
    its inline backend, or the figures a notebook shows would never appear."""
    if "ipykernel" not in sys.modules:
        matplotlib.use("Agg")


@functools.cache
def cjk_font() -> str | None:
    """The name of a font with Simplified-Chinese glyphs: an installed one of :data:`CJK_FONTS`,
    else the one ``mplfonts`` ships (registered with matplotlib here); None, warned once, when
    there is neither — Chinese text would then draw as empty boxes."""
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in installed:
            return name
    package, inside = PACKAGED_CJK_FONT
    try:
        path = importlib.resources.files(package).joinpath(inside)
    except ModuleNotFoundError:
        path = None
    if path is not None and path.is_file():
        font_manager.fontManager.addfont(str(path))
        return font_manager.FontProperties(fname=str(path)).get_name()
    logger.warning("no font with Chinese glyphs (none of %s installed, no %s package): figures "
                   "show reason texts in English; pip install mplfonts to get Chinese",
                   ", ".join(CJK_FONTS), package)
    return None


def font_family() -> list[str]:
    """The font list every text is drawn with: DejaVu Sans, then the Chinese font if any."""
    chinese = cjk_font()
    return [BASE_FONT, *([chinese] if chinese else []), "sans-serif"]


def rc() -> dict[str, Any]:
    """The style as matplotlib rcParams."""
    return {
        "font.family": font_family(),
        "font.size": FONT_SIZE,
        "axes.titlesize": TITLE_SIZE,
        "axes.labelsize": LABEL_SIZE,
        "axes.edgecolor": "#555555",
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "axes.axisbelow": True,
        "grid.color": "#dddddd",
        "grid.linewidth": 0.6,
        "xtick.labelsize": TICK_SIZE,
        "ytick.labelsize": TICK_SIZE,
        "legend.fontsize": LEGEND_SIZE,
        "legend.frameon": False,
        "figure.titlesize": TITLE_SIZE + 1,
        "figure.dpi": 100,
        "figure.facecolor": "white",
        "figure.constrained_layout.use": True,
        "savefig.facecolor": "white",
        "axes.unicode_minus": True,
    }


@contextmanager
def style() -> Iterator[None]:
    """The style for the figures built inside the block."""
    with matplotlib.rc_context(rc()):
        yield


def use_figure_style() -> None:
    """Make the toolkit's style the default of every figure drawn from now on in this process:
    a notebook's own plots then look like the package's, Chinese text included."""
    matplotlib.rcParams.update(rc())


def _figures(result: Any) -> list[Figure]:
    if isinstance(result, Figure):
        return [result]
    if isinstance(result, dict):
        return [value for value in result.values() if isinstance(value, Figure)]
    return []


def fit_titles(figure: Figure) -> None:
    """Wrap a title (of an axes, or the figure's) that would run past the figure's edge onto more
    lines: the constrained layout makes room above a title, never beside it. Call after a draw."""
    width = figure.bbox.width
    titles = [axes.title for axes in figure.axes]
    suptitle = getattr(figure, "_suptitle", None)
    changed = False
    for title in [*titles, *([suptitle] if suptitle is not None else [])]:
        text = title.get_text()
        if not text or not title.get_visible():
            continue
        extent = title.get_window_extent()
        if extent.x0 >= 0 and extent.x1 <= width:
            continue
        centre = (extent.x0 + extent.x1) / 2
        room = 2 * min(centre, width - centre) if title.get_ha() == "center" else width
        longest = max(len(line) for line in text.split("\n"))
        per_line = max(12, int(longest * 0.95 * max(room, 1.0) / extent.width))
        title.set_text("\n".join(textwrap.fill(line, per_line) for line in text.split("\n")))
        changed = True
    if changed:
        figure.draw_without_rendering()


def _settle(figure: Figure) -> None:
    """Inside the style: make each axis's first tick (the ones made later copy it), and where a
    title may be too wide for the figure, lay the figure out and wrap it (a full layout costs
    about as much as saving the figure, so only then)."""
    for axes in figure.axes:
        axes.xaxis.get_major_ticks()
        axes.yaxis.get_major_ticks()
    renderer = FigureCanvasAgg(figure).get_renderer()
    titles = [axes.title for axes in figure.axes]
    suptitle = getattr(figure, "_suptitle", None)
    widest = max((title.get_window_extent(renderer).width
                  for title in [*titles, *([suptitle] if suptitle is not None else [])]
                  if title.get_text()), default=0.0)
    if widest > WIDE_TITLE * figure.bbox.width:
        figure.draw_without_rendering()
        fit_titles(figure)


def styled(function: Callable[P, R]) -> Callable[P, R]:
    """Build the figure(s) ``function`` returns (a Figure or a dict of them) in the style, so that
    ticks made later, when the caller saves the figure, keep the style's sizes; a title too wide
    for the figure is wrapped (:func:`fit_titles`)."""

    @functools.wraps(function)
    def build(*args: P.args, **kwargs: P.kwargs) -> R:
        with style():
            result = function(*args, **kwargs)
            for figure in _figures(result):
                _settle(figure)
        return result

    return build
