"""params.yaml is read once into typed, validated sections; bad values name their key."""

import pytest

from fusion.params import ParamsError, from_dict, load


def minimal(**sections):
    return {"strategies": {"add": {}, "hadamard": {"lr": 3e-4}}, "model": {"fusion": "add"},
            **sections}


def test_the_project_params_load():
    p = load("params.yaml")
    assert p.model.fusion in p.strategies
    assert p.data.image_size <= p.synthetic.image_size


def test_a_null_override_means_the_shared_value():
    p = from_dict(minimal(strategies={"add": {"lr": None, "epochs": 9}}))
    assert p.strategy("add").train.lr == p.train.lr and p.strategy("add").train.epochs == 9


def test_strategy_overrides_apply_to_that_strategy_only():
    p = from_dict(minimal(strategies={"add": {}, "small": {"fusion": "hadamard",
                                                          "feature_dim": 32, "lr": "1e-4"}}))
    small, add = p.strategy("small"), p.strategy("add")
    assert (small.fusion, small.model.fusion) == ("hadamard", "hadamard")
    assert small.model.feature_dim == 32
    assert small.train.lr == 1e-4 and add.train.lr == p.train.lr
    assert (add.fusion, add.model.feature_dim) == ("add", p.model.feature_dim)


@pytest.mark.parametrize(
    "raw, key",
    [
        (minimal(extra={}), "unknown section"),
        (minimal(train={"epoch": 3}), "train: unknown key"),
        (minimal(train={"epochs": "3"}), "train.epochs: expected an integer"),
        (minimal(train={"epochs": 0}), "train.epochs"),
        (minimal(train={"lr": float("nan")}), "train.lr: expected a finite number"),
        (minimal(synthetic={"counts": {"cubes": -1}}), "synthetic.counts.cubes"),
        (minimal(synthetic={"distance": [9.0, 3.0]}), "synthetic.distance"),
        (minimal(split={"val": 1.5}), "split.val"),
        (minimal(split={"val": 0.5, "test": 0.5}), "val + test < 1"),
        (minimal(data={"skip_invalid": "yes"}), "data.skip_invalid: expected true or false"),
        (minimal(evaluate={"noise_levels": [1.0, 0.0]}), "evaluate.noise_levels"),
        (minimal(strategies={"add": {"epochs": -2}}), "strategies.add.epochs"),
        (minimal(strategies={"add": {"colour": "red"}}), "strategies.add: unknown key"),
        (minimal(strategies={"Bad-Name": {}}), "must match"),
        (minimal(model={"fusion": "nope"}), "model.fusion: 'nope' is not a key of `strategies`"),
    ],
)
def test_invalid_params_name_their_key(raw, key):
    with pytest.raises(ParamsError, match=key.replace("(", r"\(").replace("+", r"\+")):
        from_dict(raw)


def test_promoting_an_unknown_strategy_lists_the_valid_names():
    with pytest.raises(ParamsError, match=r"valid names: \['add', 'hadamard'\]"):
        from_dict(minimal(model={"fusion": "gated"}))
