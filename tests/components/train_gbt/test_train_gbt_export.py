"""train_gbt export: ONNX trees that split float32 inputs exactly as scikit-learn does."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from freshet.components.train_gbt.export import classifier_head, regressor_head


def _neighbours() -> tuple[np.ndarray, np.ndarray]:
    """Two neighbouring float32 values whose float64 midpoint rounds (to even) up to the upper."""
    low = np.nextafter(np.float32(1.0), np.float32(2.0))
    high = np.nextafter(low, np.float32(2.0))
    assert np.float32((np.float64(low) + np.float64(high)) / 2) == high
    x = np.array([[low]] * 100 + [[high]] * 100, dtype=np.float32)
    return x, np.array([[low], [high]], dtype=np.float32)


def _run(model: object, x: np.ndarray, output: str) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString())  # type: ignore[attr-defined]
    result: np.ndarray = session.run([output], {"preprocessed": x})[0]
    return result


def test_regressor_head_splits_neighbouring_floats_like_sklearn() -> None:
    x, probe = _neighbours()
    booster = HistGradientBoostingRegressor(max_iter=5, random_state=0)
    booster.fit(x, np.array([0.0] * 100 + [10.0] * 100))
    expected = booster.predict(probe)
    assert expected[1] - expected[0] > 3

    plain = convert_sklearn(booster, initial_types=[("preprocessed", FloatTensorType([None, 1]))])
    output = plain.graph.output[0].name
    assert abs(_run(plain, probe, output)[1, 0] - expected[1]) > 3  # the rounding this fixes

    head = regressor_head(booster, 1)
    assert [o.name for o in head.graph.output] == ["value"]
    np.testing.assert_allclose(_run(head, probe, "value").ravel(), expected, rtol=1e-5)
    np.testing.assert_array_equal(booster.predict(probe), expected)  # sklearn unchanged


def test_classifier_head_spreads_known_classes_over_all_labels() -> None:
    x, probe = _neighbours()
    booster = HistGradientBoostingClassifier(max_iter=5, random_state=0)
    booster.fit(x, np.array([0] * 100 + [2] * 100))  # label 1 never seen in training
    head = classifier_head(booster, 1, 3)
    assert [o.name for o in head.graph.output] == ["probabilities"]
    got = _run(head, probe, "probabilities")
    expected = booster.predict_proba(probe)
    assert got.shape == (2, 3)
    np.testing.assert_array_equal(got[:, 1], 0.0)
    np.testing.assert_allclose(got[:, [0, 2]], expected, atol=1e-6)
    assert got[1, 2] > got[1, 0]  # the upper neighbour is class 2, as in scikit-learn
