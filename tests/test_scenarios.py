"""Named scenarios of `synthetic`: a preset that the keys given override; every key is checked."""

import dataclasses

import pytest

from fusion.params import SCENARIOS, ParamsError, SyntheticParams, from_dict, synthetic_params


def with_synthetic(**synthetic) -> dict:
    return {"strategies": {"add": {"fusion": "add"}}, "model": {"fusion": "add"},
            "synthetic": synthetic, "evaluate": {"reference": "add"}}


def test_without_a_scenario_the_defaults_are_the_failures_benchmark():
    assert from_dict(with_synthetic()).synthetic == SyntheticParams()
    assert from_dict(with_synthetic(scenario="failures")).synthetic == SyntheticParams()


def test_a_scenario_sets_its_preset_and_the_keys_given_override_it():
    course = from_dict(with_synthetic(scenario="course")).synthetic
    for key, value in SCENARIOS["course"].items():
        assert getattr(course, key) == (tuple(value) if isinstance(value, list) else value), key
    custom = from_dict(with_synthetic(scenario="course", distance=[20, 30],
                                      counts={"cubes": 5})).synthetic  # -S synthetic.distance=...
    assert custom.distance == (20.0, 30.0) and custom.counts.cubes == 5
    assert dataclasses.replace(custom, distance=course.distance, counts=course.counts) == course


def test_every_preset_key_is_a_setting_that_it_changes():
    defaults = SyntheticParams()
    for name, preset in SCENARIOS.items():
        resolved = synthetic_params({"scenario": name})
        for key in preset:
            assert key not in ("scenario", "seed", "counts"), (name, key)  # the run's own keys
            assert getattr(resolved, key) != getattr(defaults, key), (name, key)


def test_a_three_vector_is_not_read_as_a_range():
    light = synthetic_params({"light_direction": [0.5, -0.2, 0.1]}).light_direction
    assert light == (0.5, -0.2, 0.1)


@pytest.mark.parametrize("synthetic, message", [
    ({"scenario": "real"}, r"synthetic.scenario: expected one of \['course', 'failures'\]"),
    ({"scenario": ["course"]}, "synthetic.scenario: expected one of"),
    ({"light": "sun"}, "synthetic.light: expected hemisphere or fixed"),
    ({"light_direction": [0, 0, 0]}, "synthetic.light_direction: expected a non-zero vector"),
    ({"light_direction": [1, 0]}, "synthetic.light_direction: expected a list of 3 numbers"),
    ({"camera": "fisheye"}, "synthetic.camera: expected lidar or pinhole"),
    ({"camera_hfov_deg": 0}, r"synthetic.camera_hfov_deg: expected degrees in \(0, 180\)"),
    ({"camera_vfov_deg": 180}, "synthetic.camera_vfov_deg"),
    ({"camera_azimuth_deg": 90}, r"synthetic.camera_azimuth_deg: expected degrees in \(-90, 90\)"),
    ({"camera_zenith_deg": -95}, "synthetic.camera_zenith_deg"),
    ({"camera_supersampling": 0}, r"synthetic.camera_supersampling: expected an integer in \[1"),
    ({"camera_supersampling": 1.5}, "synthetic.camera_supersampling: expected an integer"),
    ({"shading": "phong"}, "synthetic.shading: expected lambertian or flat"),
    ({"colour_model": "rgb"}, "synthetic.colour_model: expected channels or hue"),
    ({"colour": [0.5, 1.5]}, r"synthetic.colour: expected values in \[0, 1\]"),
    ({"colour": [0.8, 0.5]}, r"synthetic.colour: expected \[low, high\]"),
    ({"saturation": [0.2, 1.2]}, r"synthetic.saturation: expected values in \[0, 1\]"),
    ({"gamma": 0}, "synthetic.gamma: expected a number > 0"),
    ({"light_spread_deg": 120}, r"synthetic.light_spread_deg: expected degrees in \[0, 90\]"),
    ({"cube_edge": 0}, "synthetic.cube_edge: expected a number > 0"),
    ({"cube_edge": 3.0}, "synthetic.distance: expected the nearest centre beyond"),
    ({"scenario": "course", "camera_hfov_deg": -1}, "synthetic.camera_hfov_deg"),
])
def test_bad_synthetic_params_name_their_key(synthetic, message):
    with pytest.raises(ParamsError, match=message):
        from_dict(with_synthetic(**synthetic))
