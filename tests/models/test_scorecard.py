from __future__ import annotations

import doctest
import io
import json
import math
import pickle
import sqlite3

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from credit_models.errors import ConfigError, TrainingDataError
from credit_models.features.binning import UNKNOWN_CATEGORY
from credit_models.models.scorecard import BASE_POINTS, ScorePoints, WoeScorecard, _auc

INFORMATIVE = ["utilisation", "days_late", "channel", "income"]


def _portfolio(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Three informative numerical features (income missing for 20 % of rows, and missing is
    risky), one informative category and one feature of pure noise; about 40 % bads so that
    noise stays below IV 0.02."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "utilisation": rng.uniform(0, 1.2, n),
        "days_late": rng.poisson(1.0, n).astype(float),
        "income": rng.lognormal(8, 0.5, n),
        "channel": rng.choice(["app", "web", "store", "partner"], n),
        "noise": rng.normal(size=n),
    })
    income = frame["income"].where(rng.random(n) >= 0.2)
    log_odds = (-2.2 + 1.8 * frame["utilisation"] + 0.5 * frame["days_late"]
                - 0.6 * np.log(income.fillna(800) / 3000)
                + 0.8 * (frame["channel"] == "partner") - 0.5 * (frame["channel"] == "store"))
    frame["income"] = income
    return frame, rng.random(n) < expit(log_odds)


@pytest.fixture(scope="module")
def sample() -> tuple[pd.DataFrame, np.ndarray]:
    return _portfolio(6000, seed=0)


@pytest.fixture(scope="module")
def holdout() -> tuple[pd.DataFrame, np.ndarray]:
    return _portfolio(3000, seed=1)


@pytest.fixture(scope="module")
def card(sample) -> WoeScorecard:
    frame, is_bad = sample
    return WoeScorecard(n_jobs=1).fit(frame, is_bad)


def test_ranks_well_and_as_well_as_a_plain_regression_on_all_woe_features(card, sample, holdout):
    frame, is_bad = sample
    test_frame, test_is_bad = holdout
    auc = roc_auc_score(test_is_bad, card.predict_proba(test_frame)[:, 1])
    plain = LogisticRegression(max_iter=1000).fit(card.binner_.transform(frame), is_bad)
    plain_auc = roc_auc_score(test_is_bad,
                              plain.predict_proba(card.binner_.transform(test_frame))[:, 1])
    assert auc > 0.7
    assert abs(auc - plain_auc) < 0.01
    assert card.features_ == INFORMATIVE          # in the order they enter the L1 path
    assert card.classes_.tolist() == [False, True]
    assert card.predict(test_frame).dtype == bool


def test_score_is_base_plus_feature_points_and_maps_back_to_the_pd(card, holdout):
    frame, _ = holdout
    points = card.points_by_feature(frame)
    score = card.credit_score(frame)
    assert list(points.columns) == card.features_
    assert score.index.equals(frame.index)
    assert score.equals((card.base_points_ + points.sum(axis=1)).rename("credit_score"))
    probability = card.predict_proba(frame)[:, 1]
    np.testing.assert_allclose(card.score_points_.points_to_probability(score), probability,
                               rtol=0, atol=1e-9)
    np.testing.assert_allclose(card.score_points_.probability_to_points(probability), score,
                               rtol=0, atol=1e-6)
    np.testing.assert_allclose(card.score_points_.log_odds_to_points(card.decision_function(frame)),
                               score, rtol=0, atol=1e-9)


def test_doubling_the_odds_adds_pdo_points():
    points = ScorePoints(pdo=20, base_score=600, base_odds=50)
    assert points.factor == pytest.approx(20 / math.log(2))
    assert points.probability_to_points(1 / 51) == pytest.approx(600, abs=1e-9)    # 50:1
    for odds in (0.5, 3.0, 50.0, 400.0):
        lower, higher = (points.probability_to_points(1 / (1 + ratio)) for ratio in (odds, 2 * odds))
        assert higher - lower == pytest.approx(20, abs=1e-9)
    scores = np.array([480.0, 600.0, 720.0])
    np.testing.assert_allclose(
        points.probability_to_points(points.points_to_probability(scores)), scores, atol=1e-9
    )


def test_invalid_score_scale_names_the_key_and_value():
    with pytest.raises(ConfigError, match=r"pdo must be .*> 0.*got -20"):
        ScorePoints(pdo=-20)
    with pytest.raises(ConfigError, match=r"base_odds .* got 0"):
        ScorePoints(base_odds=0)


def test_sql_in_sqlite_gives_the_python_points(card, holdout):
    frame = holdout[0].head(300).copy()
    frame.loc[frame.index[:5], "channel"] = "crypto"                 # unseen in development
    frame.loc[frame.index[5:8], "channel"] = None                    # missing category
    frame.loc[frame.index[8:11], "utilisation"] = np.nan             # missing, none in development
    frame.loc[frame.index[11], "utilisation"] = card.binner_.binnings_["utilisation"].splits[2]
    assert frame["income"].isna().any()
    expected = card.credit_score(frame)

    connection = sqlite3.connect(":memory:")
    frame.assign(row_id=np.arange(len(frame))).to_sql("features", connection, index=False)
    query = f"SELECT row_id, credit_score FROM ({card.to_sql()}) ORDER BY row_id"
    from_sql = np.array([score for _, score in connection.execute(query).fetchall()])
    np.testing.assert_allclose(from_sql, expected.to_numpy(), rtol=0, atol=1e-6)
    assert card.to_sql("risk.features").rstrip().endswith('FROM "risk"."features"')


def test_unknown_category_gets_the_unknown_row_points(card, holdout):
    frame = holdout[0].head(3).assign(channel="crypto")
    assert (card.binner_.bin_indices(frame)["channel"] == UNKNOWN_CATEGORY).all()
    unknown = card.points_table_.query("feature == 'channel' and bin_index == @UNKNOWN_CATEGORY")
    assert (card.points_by_feature(frame)["channel"] == unknown["points"].iloc[0]).all()
    assert unknown["points"].iloc[0] == 0


@pytest.mark.parametrize("selection", ["l1", "stepwise"])
def test_selection_caps_features_drops_noise_and_keeps_signs(sample, selection):
    frame, is_bad = sample
    capped = WoeScorecard(selection=selection, max_features=2, n_jobs=1).fit(frame, is_bad)
    assert len(capped.features_) == 2
    assert set(capped.features_) <= set(INFORMATIVE)

    # Noise is a candidate here (min_iv 0): the selection itself must leave it out.
    card = WoeScorecard(selection=selection, max_features=4, min_iv=0.0, n_jobs=1).fit(
        frame, is_bad)
    assert "noise" not in card.features_
    assert (card.coef_ < 0).all()
    report = card.selection_report_.set_index("feature")
    assert not report.loc["noise", "selected"]
    assert report.loc["noise", "reason"] != "selected"
    assert report["selected"].sum() == len(card.features_)
    for _, rows in card.points_table_.groupby("feature"):
        by_woe = rows.sort_values("woe")
        assert by_woe["points"].is_monotonic_increasing


def test_features_below_min_iv_are_reported_with_their_iv(card):
    report = card.selection_report_.set_index("feature")
    assert list(card.selection_report_.columns) == ["feature", "iv", "selected", "reason"]
    assert report.loc["noise", "iv"] < 0.02
    assert report.loc["noise", "reason"].startswith("IV ")
    assert report.loc[INFORMATIVE, "selected"].all()


def test_a_flipped_coefficient_is_dropped_and_reported():
    """Two strongly correlated features with opposite effects: the weaker one looks risky on its
    own (positive WoE-to-bad link), yet its coefficient turns positive next to the stronger."""
    rng = np.random.default_rng(3)
    common = rng.normal(size=5000)
    frame = pd.DataFrame({"strong": common + 0.3 * rng.normal(size=5000),
                          "suppressor": common + 0.3 * rng.normal(size=5000)})
    is_bad = rng.random(5000) < expit(-1 + 2 * frame["strong"] - 1 * frame["suppressor"])
    card = WoeScorecard(selection="none", n_jobs=1).fit(frame, is_bad)
    assert card.features_ == ["strong"]
    report = card.selection_report_.set_index("feature")
    assert report.loc["suppressor", "iv"] >= 0.02
    assert "not negative" in report.loc["suppressor", "reason"]


def test_points_lost_is_zero_in_the_best_bins_and_never_negative(card, sample):
    frame, _ = sample
    lost = card.points_lost(frame)
    assert (lost.to_numpy() >= 0).all()
    points = card.points_by_feature(frame)
    best_row = frame.iloc[[0]].copy()
    for name in card.features_:   # any development row whose bin is this feature's best
        best_row[name] = frame.loc[points[name] == points[name].max(), name].iloc[0]
    assert (card.points_lost(best_row).to_numpy() == 0).all()
    assert card.credit_score(best_row).iloc[0] == pytest.approx(
        card.base_points_ + card.points_table_.groupby("feature")["points"].max().sum())


def test_points_table_and_csv(card):
    table = card.points_table_
    assert set(table["feature"]) == set(card.features_)
    assert {"feature", "bin", "bin_index", "count", "bad_rate", "woe", "coefficient",
            "points"} <= set(table.columns)
    missing = table.query("feature == 'income' and bin == 'Missing'")
    assert missing["count"].iloc[0] > 0 and missing["points"].iloc[0] < 0   # missing is risky
    assert table.query("feature == 'channel'")["bin"].str.startswith("[").sum() == 4
    csv = pd.read_csv(io.StringIO(card.points_table_csv()))
    assert csv.loc[0, "feature"] == BASE_POINTS
    assert csv.loc[0, "points"] == pytest.approx(card.base_points_)
    assert len(csv) == len(table) + 1


def test_columns_may_come_in_another_order(card, holdout):
    frame, _ = holdout
    shuffled = frame[frame.columns[::-1]]
    np.testing.assert_array_equal(card.predict_proba(shuffled), card.predict_proba(frame))


def test_one_class_no_informative_feature_and_empty_input_are_training_data_errors(sample):
    frame, is_bad = sample
    with pytest.raises(TrainingDataError, match="one class"):
        WoeScorecard().fit(frame, np.zeros(len(frame), dtype=bool))
    with pytest.raises(TrainingDataError, match=r"no feature reaches min_iv 0.9.*best IV"):
        WoeScorecard(min_iv=0.9, n_jobs=1).fit(frame, is_bad)
    with pytest.raises(TrainingDataError, match="empty"):
        WoeScorecard().fit(frame.iloc[:0], is_bad[:0])


@pytest.mark.parametrize(("parameter", "value"), [
    ("selection", "forward"), ("max_features", 0), ("min_iv", -0.1), ("C", 0.0),
    ("pdo", 0.0),
])
def test_invalid_parameters_are_config_errors_naming_the_key(sample, parameter, value):
    frame, is_bad = sample
    with pytest.raises(ConfigError, match=parameter):
        WoeScorecard(**{parameter: value}).fit(frame.head(50), is_bad[:50])


def test_not_fitted():
    with pytest.raises(NotFittedError):
        WoeScorecard().credit_score(pd.DataFrame({"x": [1.0]}))


def test_clone_get_params_and_pickle(card, holdout):
    frame, _ = holdout
    params = card.get_params()
    assert clone(card).get_params() == params
    assert WoeScorecard(**params).get_params() == params
    assert not hasattr(clone(card), "features_")
    restored = pickle.loads(pickle.dumps(card))
    np.testing.assert_array_equal(restored.predict_proba(frame), card.predict_proba(frame))
    assert restored.credit_score(frame).equals(card.credit_score(frame))
    assert restored.to_sql() == card.to_sql()


def test_auc_helper_counts_ties_half():
    target = np.array([0, 1, 0, 1, 1, 0])
    score = np.array([0.1, 0.4, 0.4, 0.9, 0.2, 0.2])
    assert _auc(target, score) == pytest.approx(roc_auc_score(target, score))


def test_docstring_example_runs():
    from credit_models.models import scorecard

    result = doctest.testmod(scorecard, extraglobs={"np": np, "pd": pd})
    assert result.attempted > 0 and result.failed == 0


def test_json_round_trip_scores_and_explains_exactly_as_the_fitted_card(card, holdout):
    """The served scorecard is saved as JSON, not pickled: read back it must give the same
    probabilities, points, points lost, SQL and tables to the last bit, unknown categories and
    missing values included."""
    frame, _ = holdout
    frame = frame.assign(channel=frame["channel"].where(frame.index % 50 != 0, "kiosk"))
    assert frame["income"].isna().any()
    text = json.dumps(card.to_dict(), allow_nan=False)       # plain JSON: no NaN, no objects
    loaded = WoeScorecard.from_dict(json.loads(text))

    np.testing.assert_array_equal(loaded.predict_proba(frame), card.predict_proba(frame))
    pd.testing.assert_frame_equal(loaded.points_by_feature(frame), card.points_by_feature(frame))
    pd.testing.assert_frame_equal(loaded.points_lost(frame), card.points_lost(frame))
    pd.testing.assert_series_equal(loaded.credit_score(frame), card.credit_score(frame))
    pd.testing.assert_frame_equal(loaded.points_table_, card.points_table_)
    pd.testing.assert_frame_equal(loaded.selection_report_, card.selection_report_)
    assert loaded.to_sql() == card.to_sql()
    assert loaded.points_table_csv() == card.points_table_csv()
    assert loaded.get_params() == card.get_params()


def test_a_json_scorecard_whose_points_were_altered_is_refused(card):
    data = card.to_dict()
    data["points_table"][0]["points"] += 1.0
    with pytest.raises(ValueError, match="does not match the points its bins"):
        WoeScorecard.from_dict(data)
    with pytest.raises(ValueError, match="not a saved WoE scorecard"):
        WoeScorecard.from_dict({"format": "pickle"})


# ------------------------------------------------------ missing values at scoring time
@pytest.fixture(scope="module")
def missing_card(sample) -> WoeScorecard:
    """Income and channel both missing in development, missing being risky in both."""
    frame, is_bad = sample
    rng = np.random.default_rng(7)
    absent = rng.random(len(frame)) < 0.15
    frame = frame.assign(channel=frame["channel"].where(~absent))
    is_bad = np.where(absent, rng.random(len(frame)) < 0.7, is_bad)
    return WoeScorecard(selection="none", n_jobs=1).fit(frame, is_bad)


def _missing_bin(card: WoeScorecard, feature: str) -> pd.Series:
    rows = card.points_table_.query("feature == @feature and bin == 'Missing'")
    assert len(rows) == 1
    return rows.iloc[0]


MISSING_SPELLINGS = {
    "income": {
        "NaN": lambda: [np.nan, np.nan, 4000.0],
        "None, float column read as object": lambda: pd.Series([None, np.nan, 4000.0],
                                                               dtype=object),
        "pd.NA, nullable Float64": lambda: pd.array([pd.NA, pd.NA, 4000.0], dtype="Float64"),
        "pd.NA, object": lambda: pd.Series([pd.NA, None, 4000.0], dtype=object),
    },
    "channel": {
        "None": lambda: [None, None, "app"],
        "NaN": lambda: [np.nan, np.nan, "app"],
        "pd.NA, string": lambda: pd.array([pd.NA, pd.NA, "app"], dtype="string"),
        "NaN, other categories": lambda: pd.Categorical([None, None, "app"],
                                                        categories=["kiosk", "app"]),
    },
}


@pytest.mark.parametrize(("feature", "spelling"), [
    (feature, spelling) for feature, spellings in MISSING_SPELLINGS.items()
    for spelling in spellings
])
def test_a_missing_value_gets_the_woe_and_points_of_the_missing_bin(missing_card, holdout,
                                                                    feature, spelling):
    card = missing_card
    assert {"income", "channel"} <= set(card.features_)
    frame = holdout[0].head(3).copy()
    frame[feature] = MISSING_SPELLINGS[feature][spelling]()
    missing = _missing_bin(card, feature)
    assert missing["count"] > 0 and missing["points"] < 0          # risky, not the average
    points = card.points_by_feature(frame)[feature]
    assert points.iloc[:2].tolist() == [missing["points"]] * 2
    assert points.iloc[2] != missing["points"]
    woe = card._bin_values(frame, 0)
    expected = card.intercept_ + woe.to_numpy() @ card.coef_.to_numpy()
    assert woe[feature].iloc[:2].tolist() == [missing["woe"]] * 2
    np.testing.assert_array_equal(card.decision_function(frame), expected)


def test_a_whole_batch_without_a_category_is_missing_not_unknown(missing_card, holdout):
    frame = holdout[0].head(4).assign(channel=np.nan)       # read back as a float column
    points = missing_card.points_by_feature(frame)["channel"]
    assert (points == _missing_bin(missing_card, "channel")["points"]).all()


def _score_from_csv(card: WoeScorecard, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Score and log-odds computed from the CSV points table only: a missing value reads the
    feature's "Missing" row, any other value the row of its bin position."""
    csv = pd.read_csv(io.StringIO(card.points_table_csv()))
    base, table = csv.iloc[0], csv.iloc[1:]
    indices = card.binner_.bin_indices(frame)
    score = np.full(len(frame), base["points"])
    log_odds = np.full(len(frame), base["coefficient"])
    for name in card.features_:
        rows = table[table["feature"] == name]
        missing = rows[rows["bin"] == "Missing"].iloc[0]
        by_index = rows.set_index(rows["bin_index"].astype(int))
        found = by_index.loc[indices[name].to_numpy()]
        is_missing = frame[name].isna().to_numpy()
        score += np.where(is_missing, missing["points"], found["points"].to_numpy())
        log_odds += np.where(is_missing, missing["coefficient"] * missing["woe"],
                             (found["coefficient"] * found["woe"]).to_numpy())
    return score, log_odds


def test_missing_values_agree_in_python_sql_csv_and_a_json_copy(missing_card, holdout):
    card = missing_card
    frame = holdout[0].head(200).copy()
    frame.loc[frame.index[:20], "income"] = np.nan
    frame.loc[frame.index[10:30], "channel"] = None
    frame.loc[frame.index[30:35], "channel"] = "kiosk"                  # unknown category
    frame.loc[frame.index[35:40], "utilisation"] = np.nan    # never missing in development
    assert _missing_bin(card, "utilisation")["count"] == 0
    assert (card.points_by_feature(frame)["utilisation"].iloc[35:40] == 0).all()
    expected = card.credit_score(frame).to_numpy()

    connection = sqlite3.connect(":memory:")
    frame.assign(row_id=np.arange(len(frame))).to_sql("features", connection, index=False)
    query = f"SELECT row_id, credit_score FROM ({card.to_sql()}) ORDER BY row_id"
    from_sql = np.array([score for _, score in connection.execute(query).fetchall()])
    np.testing.assert_allclose(from_sql, expected, rtol=0, atol=1e-6)
    assert f"WHEN \"channel\" IS NULL THEN {float(_missing_bin(card, 'channel')['points'])!r}" \
        in card.to_sql()

    from_csv, log_odds = _score_from_csv(card, frame)
    np.testing.assert_allclose(from_csv, expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(log_odds, card.decision_function(frame), rtol=0, atol=1e-9)

    loaded = WoeScorecard.from_dict(json.loads(json.dumps(card.to_dict(), allow_nan=False)))
    np.testing.assert_array_equal(loaded.decision_function(frame), card.decision_function(frame))
    pd.testing.assert_frame_equal(loaded.points_by_feature(frame), card.points_by_feature(frame))


def test_a_pure_missing_bin_scores_zero_as_its_table_says():
    """Missing values all good in development: the bin's WoE is 0 by the binning's convention
    (no bad to divide by), so a missing value gets 0 points, and the table shows its count."""
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"x": rng.normal(size=3000)})
    is_bad = rng.random(3000) < expit(-1 + frame["x"])
    frame.loc[:9, "x"] = np.nan
    is_bad[:10] = False
    card = WoeScorecard(selection="none", n_jobs=1).fit(frame, is_bad)
    missing = _missing_bin(card, "x")
    assert missing["count"] == 10 and missing["woe"] == 0 and missing["points"] == 0
    assert card.points_by_feature(frame.head(10))["x"].eq(0).all()


def test_text_in_a_numerical_feature_is_an_error_naming_it(card, holdout):
    frame = holdout[0].head(3).copy()
    frame["income"] = pd.Series(["", "NA", "3000"], dtype=object, index=frame.index)
    with pytest.raises(ValueError, match=r"feature 'income' .* not numbers"):
        card.credit_score(frame)


# ------------------------------------------------------ only the selected features
def test_scores_a_frame_holding_only_the_selected_features(card, holdout):
    frame, _ = holdout
    assert "noise" not in card.features_
    assert list(card.feature_names_in_) == list(frame.columns)          # the fitted inputs
    only = frame[card.features_[::-1]].assign(branch="north")         # other order, extra column
    np.testing.assert_array_equal(card.predict_proba(only), card.predict_proba(frame))
    np.testing.assert_array_equal(card.predict(only), card.predict(frame))
    pd.testing.assert_frame_equal(card.points_by_feature(only), card.points_by_feature(frame))
    pd.testing.assert_frame_equal(card.points_lost(only), card.points_lost(frame))
    pd.testing.assert_series_equal(card.credit_score(only), card.credit_score(frame))
    loaded = WoeScorecard.from_dict(json.loads(json.dumps(card.to_dict(), allow_nan=False)))
    pd.testing.assert_series_equal(loaded.credit_score(only), card.credit_score(frame))


def test_a_frame_without_a_selected_feature_is_an_error_naming_it(card, holdout):
    frame = holdout[0].drop(columns=["income", "noise"])
    with pytest.raises(ValueError, match=r"1 feature\(s\) WoeScorecard scores on missing from X: "
                                         r"\[income\]"):
        card.predict_proba(frame)
    with pytest.raises(ValueError, match="more than once"):
        card.predict_proba(pd.concat([frame, holdout[0][["income"]] * 2,
                                      holdout[0][["income"]]], axis=1))


def test_an_array_still_holds_every_fitted_column_in_fit_order(card, holdout):
    frame, _ = holdout
    array = frame[list(card.feature_names_in_)].to_numpy()
    np.testing.assert_array_equal(card.predict_proba(array), card.predict_proba(frame))
    with pytest.raises(ValueError, match="X has 4 features, but WoeScorecard is expecting 5"):
        card.predict_proba(frame[card.features_].to_numpy())
