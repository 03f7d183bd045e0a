"""params.yaml is read once into typed, validated sections; bad values name their key."""

import pytest

from fusion.params import ParamsError, from_dict, load


def minimal(**sections):
    evaluate = {"reference": "add", **sections.pop("evaluate", {})}  # late is not among them
    strategies = {"add": {"fusion": "add"}, "hadamard": {"fusion": "hadamard", "lr": 3e-4}}
    return {"strategies": strategies, "model": {"fusion": "add"}, "evaluate": evaluate,
            **sections}


def test_the_project_params_load():
    p = load("params.yaml")
    assert p.model.fusion in p.strategies
    assert p.data.image_size <= p.synthetic.image_size


def test_a_null_override_means_the_shared_value():
    p = from_dict(minimal(strategies={"add": {"fusion": "add", "lr": None, "epochs": 9}}))
    assert p.strategy("add").train.lr == p.train.lr and p.strategy("add").train.epochs == 9


def test_strategy_overrides_apply_to_that_strategy_only():
    p = from_dict(minimal(strategies={"add": {"fusion": "add"}, "small": {"fusion": "hadamard",
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
        (minimal(split={"val": 1.5}), "split.val: expected a fraction in .0, 1. or a whole"),
        (minimal(split={"val": 0.5, "test": 0.5}), "val + test < 1"),
        (minimal(evaluate={"equivalence": {"accuracy": 0.0}}), "evaluate.equivalence.accuracy"),
        (minimal(evaluate={"equivalence": {"robust": 0.1}}), "evaluate.equivalence: unknown"),
        (minimal(evaluate={"collapse": 1.0}), "evaluate.collapse"),
        (minimal(data={"skip_invalid": "yes"}), "data.skip_invalid: expected true or false"),
        (minimal(evaluate={"reference": "nope"}), "evaluate.reference: expected a key of"),
        (minimal(evaluate={"resamples": 10}), "evaluate.resamples"),
        (minimal(train={"seeds": []}), "train.seeds: expected a non-empty list"),
        (minimal(train={"seeds": [0, 1, 0]}), "train.seeds: expected distinct seeds"),
        (minimal(train={"seeds": [0, -1]}), "train.seeds"),
        (minimal(train={"seeds": [0, 1.5]}), r"train.seeds\[1\]: expected an integer"),
        (minimal(train={"seeds": [True]}), r"train.seeds\[0\]: expected an integer"),
        (minimal(train={"seeds": 3}), "train.seeds: expected a list"),
        (minimal(train={"seed": 3}), "train: unknown key"),
        (minimal(strategies={"add": {"fusion": "add", "seeds": [2, 2]}}), "strategies.add.seeds"),
        (minimal(train={"device": "gpu"}), "train.device: expected auto, cpu, cuda, cuda:N or mps"),
        (minimal(evaluate={"device": "cuda:x"}), "evaluate.device"),
        (minimal(strategies={"add": {"fusion": "add", "epochs": -2}}), "strategies.add.epochs"),
        (minimal(strategies={"add": {"fusion": "add", "colour": "red"}}),
         "strategies.add: unknown key"),
        (minimal(strategies={"Bad-Name": {"fusion": "add"}}), "must match"),
        (minimal(strategies={"add": {"lr": 0.1}}), "strategies.add: needs `fusion: <op>`"),
        (minimal(model={"fusion": "nope"}), "model.fusion: 'nope' is not a key of `strategies`"),
    ],
)
def test_invalid_params_name_their_key(raw, key):
    with pytest.raises(ParamsError, match=key.replace("(", r"\(").replace("+", r"\+")):
        from_dict(raw)


def test_seeds_are_a_train_key_a_strategy_may_override():
    strategies = {"add": {"fusion": "add", "seeds": [5]}, "hadamard": {"fusion": "hadamard"}}
    p = from_dict(minimal(train={"seeds": [3, 1]}, strategies=strategies))
    assert p.strategy("add").train.seeds == (5,)
    assert p.strategy("hadamard").train.seeds == (3, 1)
    assert from_dict(minimal(train={"device": "cuda:1"})).train.device == "cuda:1"


def test_promoting_an_unknown_strategy_lists_the_valid_names():
    with pytest.raises(ParamsError, match=r"valid names: \['add', 'hadamard'\]"):
        from_dict(minimal(model={"fusion": "gated"}))


def test_the_data_source_names_the_scenario_and_its_cause():
    failures = from_dict(minimal())
    assert failures.data_source().startswith("the synthetic scenario `failures`: 10% of frames")
    course = from_dict(minimal(synthetic={"scenario": "course", "seed": 3,
                                          "counts": {"cubes": 5, "spheres": 9}}))
    assert course.data_source().startswith("the synthetic scenario `course`: no injected")
    changed = from_dict(minimal(synthetic={"scenario": "course", "camera_failure": 0.2}))
    assert "`course` with camera_failure changed from its preset" in changed.data_source()
    own = from_dict(minimal(data={"raw": "/data/assessment"}))
    assert own.data_source().startswith("the data set at data.raw, not rendered")
    assert from_dict(minimal(data={"raw": "data/raw/synthetic/"})).data_source().startswith(
        "the synthetic scenario")
