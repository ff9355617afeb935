"""Where the Hydra configs live: inside the installed package, or at the top of a checkout."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def config_dir() -> Path:
    """``credit_models/conf`` in a wheel (the build copies ``conf/`` there), else ``conf/`` beside
    the package in a source checkout or editable install."""
    for candidate in (PACKAGE_DIR / "conf", PACKAGE_DIR.parent / "conf"):
        if (candidate / "train.yaml").is_file():
            return candidate
    raise FileNotFoundError(
        f"no Hydra config folder found in {PACKAGE_DIR / 'conf'} or {PACKAGE_DIR.parent / 'conf'}"
    )
