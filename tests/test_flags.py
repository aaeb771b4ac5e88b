"""index_engine.flags: the flag vocabulary, its SDMX and Chinese synonyms, and which flags count as observed."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from index_engine.errors import DataError
from index_engine.flags import FLAGS, Flag, canonical_flag, counts_as_observed

# SDMX 2.1 cross-domain code list CL_OBS_STATUS: A normal, E estimated, P provisional, F forecast;
# X and S are the project's own letters for proxy and illustrative.
SDMX_LETTERS = {"A": "observed", "E": "estimate", "P": "provisional", "F": "forecast", "X": "proxy",
                "S": "illustrative"}
CHINESE_LABELS = {"观测": "observed", "估计": "estimate", "初步": "provisional", "代理": "proxy", "预测": "forecast",
                  "示例": "illustrative"}
OTHER_SYNONYMS = {"normal": "observed", "estimated": "estimate", "est": "estimate", "prov": "provisional",
                  "illustration": "illustrative", "simulated": "illustrative", "模拟": "illustrative",
                  "实际": "observed", "观测值": "observed", "估算": "estimate"}


def test_the_vocabulary_is_six_words_in_display_order():
    assert list(FLAGS) == ["observed", "estimate", "provisional", "proxy", "forecast", "illustrative"]
    assert all(isinstance(f, Flag) and f.name == name and f.en == name for name, f in FLAGS.items())


@pytest.mark.parametrize("letter, word", sorted(SDMX_LETTERS.items()))
def test_sdmx_obs_status_letters_mean_their_words_in_either_case(letter, word):
    assert canonical_flag(letter) == word
    assert canonical_flag(letter.lower()) == word
    assert FLAGS[word].sdmx == (letter,)


@pytest.mark.parametrize("label, word", sorted(CHINESE_LABELS.items()))
def test_chinese_labels_mean_their_words_and_are_the_zh_labels(label, word):
    assert canonical_flag(label) == word
    assert FLAGS[word].zh == label
    assert FLAGS[word].label("zh") == label and FLAGS[word].label("en") == word


@pytest.mark.parametrize("synonym, word", sorted(OTHER_SYNONYMS.items()))
def test_the_other_documented_synonyms_mean_their_words(synonym, word):
    assert canonical_flag(synonym) == word


def test_every_word_of_the_vocabulary_is_its_own_canonical_form():
    assert [canonical_flag(name) for name in FLAGS] == list(FLAGS)


@pytest.mark.parametrize("written, word", [
    (" E ", "estimate"), ("ESTIMATE", "estimate"), ("Provisional", "provisional"), ("\tprov\n", "provisional"),
    ("  Forecast  ", "forecast"), ("NORMAL", "observed"), (" 代理 ", "proxy"), ("Simulated", "illustrative"),
])
def test_matching_ignores_case_and_surrounding_whitespace(written, word):
    assert canonical_flag(written) == word


@pytest.mark.parametrize("empty", ["", "   ", "\t\n", None, float("nan")])
def test_an_empty_flag_means_observed(empty):
    assert canonical_flag(empty) == "observed"


def test_observed_estimate_provisional_illustrative_and_proxy_count_as_observed_but_forecast_does_not():
    assert {name for name in FLAGS if counts_as_observed(name)} == {
        "observed", "estimate", "provisional", "illustrative", "proxy"}
    assert counts_as_observed("forecast") is False
    assert all(counts_as_observed(name) is FLAGS[name].counts_as_observed for name in FLAGS)


def test_every_flag_but_observed_is_marked_on_pages():
    assert {name for name, f in FLAGS.items() if not f.marked} == {"observed"}


def test_counts_as_observed_takes_only_canonical_words():
    with pytest.raises(KeyError):
        counts_as_observed("E")


def test_an_unknown_flag_is_a_data_error_naming_the_value_the_place_and_the_accepted_words():
    with pytest.raises(DataError) as err:
        canonical_flag(" maybe ", "d.csv: row 7")
    message = str(err.value)
    assert message.startswith("d.csv: row 7: unknown flag ' maybe '; use one of ")
    for name, f in FLAGS.items():
        assert f"{name} ({f.sdmx[0]}, {f.zh})" in message
    assert isinstance(err.value, ValueError)


def test_an_unknown_flag_without_a_place_starts_with_the_value():
    with pytest.raises(DataError, match=r"^unknown flag '42'; use one of observed \(A, 观测\)"):
        canonical_flag(42)
    with pytest.raises(DataError, match=r"^unknown flag 'Z'"):
        canonical_flag("Z")


def test_a_letter_is_not_matched_as_a_prefix_or_inside_a_word():
    for text in ("AE", "estimat", "obs", "observed!", "e s t"):
        with pytest.raises(DataError, match=re.escape(f"unknown flag {text!r}")):
            canonical_flag(text)


def test_a_number_is_not_an_empty_flag_but_an_unknown_one():
    with pytest.raises(DataError, match=r"unknown flag '0\.0'"):
        canonical_flag(0.0)


def test_pandas_missing_values_mean_observed():
    """A missing cell of a nullable text column (pandas' NA) or a missing date is no flag, as an empty cell is."""
    assert [canonical_flag(v) for v in (pd.NA, pd.NaT, np.nan, None)] == ["observed"] * 4
