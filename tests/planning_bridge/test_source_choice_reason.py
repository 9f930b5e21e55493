"""Why each family's probability source was chosen is stored as data (a kind and its figures)
and put into words where it is shown, in the reader's language (issue #17); figures stored as
an English sentence before keep reading as written."""
from __future__ import annotations

import pytest

from crm.extensions import db
from crm.i18n import force_language
from planning_bridge import services
from planning_bridge.figures import DEFAULT_ACCURACY_KEY, _store
from planning_bridge.source_choice import SourceChoice, choose_sources, source_for
from tests.conftest import NOW
from tests.planning_bridge.test_planner_numbers import _backtest, _calibration

API = "/api/v1/planning"
OLD_REASON = "lowest WMAPE at lags 1-2-3 over 12 months (calibrated 5.0 %, stage 50.0 %)"


def _stored_choice(choice: dict[str, SourceChoice]) -> None:
    _store("accuracy", DEFAULT_ACCURACY_KEY, NOW.date(), {"report": {"lags": [1, 2, 3], "cells": [],
                                                                     "value_added": [], "months": [],
                                                                     "snapshot_count": 0},
                                                          "choice": {f: c.stored() for f, c in choice.items()}},
           NOW, 1.0)
    db.session.commit()


def test_the_reason_is_stored_as_data_not_as_a_sentence():
    report, _actuals = _backtest(12)
    choice = choose_sources(report, _calibration(0.05, 0.20, 0.04), ["VALVE"])["VALVE"]
    why = choice.why
    assert why["kind"] == "lowest_wmape" and why["lags"] == [1, 2, 3] and why["months"] == 12
    assert [item["source"] for item in why["ranking"]] == ["calibrated", "blend", "stage"]
    assert why["ranking"][-1]["wmape"] == pytest.approx(0.5)
    assert why["refused"] == [{"source": "calibrated", "ece": 0.20, "stage_ece": 0.05}]
    stored = choice.stored()
    assert set(stored) == {"family", "source", "wmape", "why"}  # no sentence in any language
    assert SourceChoice.from_stored(stored) == choice
    too_short = choose_sources(_backtest(3)[0], None, ["VALVE"])["VALVE"]
    assert too_short.why == {"kind": "too_little_history", "months": 3, "needed": 6}
    assert choose_sources(None, None, ["VALVE"])["VALVE"].why == {"kind": "not_computed"}
    assert source_for({}, "PUMP").why == {"kind": "family_not_computed"}


def test_the_reason_reads_in_the_readers_language(app):
    report, _actuals = _backtest(12)
    choice = choose_sources(report, _calibration(0.05, 0.20, 0.04), ["VALVE"])["VALVE"]
    with force_language("en"):
        english = choice.reason
    with force_language("es-MX"):
        spanish = choice.reason
    assert english == ("lowest WMAPE at lags 1-2-3 over 12 months (calibrated 5.0 %, blend 27.5 %, stage 50.0 %); "
                       "calibrated is less honest on the holdout (calibration error 20.0 % against 5.0 %)")
    assert spanish == ("WMAPE más bajo con desfases 1-2-3 en 12 meses (calibrada 5.0 %, combinada 27.5 %, "
                       "etapa 50.0 %); calibrada es menos honesta en la validación (error de calibración de "
                       "20.0 % contra 5.0 %)")
    short = choose_sources(_backtest(1)[0], None, ["VALVE"])["VALVE"]
    with force_language("es"):
        assert short.reason == ("muy poco historial para elegir (1 mes evaluado, se necesitan 6): "
                                "los valores de la etapa")
        assert source_for({}, "PUMP").reason == ("aún no se calculó la prueba retrospectiva de esta familia: "
                                                 "los valores de la etapa")


def test_figures_stored_with_the_old_english_sentence_still_read(app, families):
    _store("accuracy", DEFAULT_ACCURACY_KEY, NOW.date(), {"report": {
        "lags": [1, 2, 3], "cells": [], "value_added": [], "months": [], "snapshot_count": 0}, "choice": {
        "VALVE": {"family": "VALVE", "source": "calibrated", "reason": OLD_REASON, "wmape": {"stage": 0.5}}}},
        NOW, 1.0)
    db.session.commit()
    choice, _computed = services.current_choice()
    assert choice["VALVE"].source == "calibrated" and choice["VALVE"].wmape == {"stage": 0.5}
    assert choice["VALVE"].why == {"kind": "text", "text": OLD_REASON}
    with force_language("es"):
        assert choice["VALVE"].reason == OLD_REASON  # as written: it was stored in English
    stored = services.stored_accuracy()
    assert stored is not None and stored.choice["VALVE"].reason == OLD_REASON


def test_the_accuracy_api_gives_the_data_and_the_words_in_the_callers_language(client, api_token, pat, families):
    report, _actuals = _backtest(12)
    _stored_choice(choose_sources(report, _calibration(0.10, 0.05, 0.06), ["PUMP", "VALVE"]))
    headers = api_token(pat)
    english = {c["family"]: c for c in client.get(API + "/accuracy", headers=headers).get_json()["choice"]}
    valve = english["VALVE"]
    assert valve["source"] == "calibrated"
    assert valve["why"]["kind"] == "lowest_wmape" and valve["why"]["months"] == 12
    assert valve["why"]["ranking"][0] == {"source": "calibrated", "wmape": pytest.approx(0.05)}
    assert valve["reason"].startswith("lowest WMAPE at lags 1-2-3 over 12 months (calibrated 5.0 %")
    pat.language = "es"
    db.session.commit()
    spanish = {c["family"]: c for c in client.get(API + "/accuracy", headers=headers).get_json()["choice"]}
    assert spanish["VALVE"]["why"] == valve["why"]  # the data does not change with the language
    assert spanish["VALVE"]["reason"].startswith("WMAPE más bajo con desfases 1-2-3 en 12 meses (calibrada 5.0 %")


def test_old_figures_answer_as_text_in_the_api(client, api_token, pat, families):
    _store("accuracy", DEFAULT_ACCURACY_KEY, NOW.date(), {"report": {
        "lags": [1, 2, 3], "cells": [], "value_added": [], "months": [], "snapshot_count": 0}, "choice": {
        "VALVE": {"family": "VALVE", "source": "stage", "reason": "too little history", "wmape": {}}}}, NOW, 1.0)
    db.session.commit()
    body = client.get(API + "/accuracy", headers=api_token(pat)).get_json()
    assert body["choice"] == [{"family": "VALVE", "source": "stage", "reason": "too little history",
                               "why": {"kind": "text", "text": "too little history", "lags": None, "months": None,
                                       "needed": None, "ranking": None, "refused": None},
                               "wmape": {}}]


def test_pages_show_the_reason_in_the_planners_language(client, login, pat, families):
    report, _actuals = _backtest(12)
    _stored_choice(choose_sources(report, _calibration(0.10, 0.05, 0.06), ["PUMP", "VALVE"]))
    pat.language = "es"
    db.session.commit()
    login(client, pat)
    page = client.get("/planning/accuracy").get_data(as_text=True)
    assert "WMAPE más bajo con desfases 1-2-3 en 12 meses" in page and "lowest WMAPE" not in page


def test_a_snapshot_keeps_the_reason_as_data_and_shows_it_translated(client, login, api_token, pat, deal_at,
                                                                     families, stages):
    from datetime import timedelta

    from planning_bridge.models import Snapshot

    close = (NOW.date().replace(day=1) + timedelta(days=70)).replace(day=10)
    deal_at(NOW, 2, close, [("PUMP", 10, 100), ("VALVE", 4, 100)])
    report, _actuals = _backtest(12)
    _stored_choice(choose_sources(report, _calibration(0.10, 0.05, 0.06), ["PUMP", "VALVE"]))
    month = f"{close:%Y-%m}"
    snapshot_id = services.take_snapshot(actor_id=None, now=NOW, start=month, end=month, probabilities="chosen")
    # A snapshot taken before the reason was data: its sentence is shown as written.
    old_id = services.take_snapshot(actor_id=None, now=NOW, start=month, end=month, probabilities="chosen")
    old = db.session.get(Snapshot, old_id)
    old.parameters = {**old.parameters, "source_choice": {"VALVE": {"source": "calibrated", "reason": OLD_REASON}}}
    db.session.commit()
    stored = db.session.get(Snapshot, snapshot_id).parameters["source_choice"]
    assert stored["VALVE"]["source"] == "calibrated" and stored["VALVE"]["why"]["kind"] == "lowest_wmape"
    assert "reason" not in stored["VALVE"]
    pat.language = "es"
    db.session.commit()
    login(client, pat)
    page = client.get(f"/planning/snapshots/{snapshot_id}").get_data(as_text=True)
    assert 'id="source-choice"' in page and "WMAPE más bajo con desfases 1-2-3" in page
    assert OLD_REASON in client.get(f"/planning/snapshots/{old_id}").get_data(as_text=True)
    body = client.get(f"{API}/snapshots/{snapshot_id}", headers=api_token(pat)).get_json()
    valve = next(c for c in body["source_choice"] if c["family"] == "VALVE")
    assert valve["why"]["kind"] == "lowest_wmape" and valve["reason"].startswith("WMAPE más bajo")
