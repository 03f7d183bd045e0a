"""Typed, validated view of params.yaml.

Every section is a frozen dataclass; `load()` reads the file once and rejects unknown keys,
wrong types and out-of-range values with an error naming the key, before any stage does work.
This module imports no torch, so numpy-only stages start fast.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from fusion import devices


class ParamsError(ValueError):
    """An invalid params.yaml: the message names the key and what was expected."""


@dataclass(frozen=True)
class Counts:
    cubes: int = 2000
    spheres: int = 2000


@dataclass(frozen=True)
class SyntheticParams:
    """The renderer's settings. The defaults are the `failures` scenario (see SCENARIOS)."""

    scenario: str = "failures"  # the preset (a key of SCENARIOS) that the keys given override
    seed: int = 0
    image_size: int = 64  # H = W of both images
    fov_deg: float = 32.0  # angular extent of both axes of the range image
    counts: Counts = field(default_factory=Counts)
    # The scene: one object per sample
    centre_offset: float = 0.2  # object centres within this fraction of the half field of view
    distance: tuple[float, float] = (8.0, 10.0)  # metres, sensor to object centre
    size: tuple[float, float] = (2.5, 3.5)  # metres: the sphere diameter
    cube_edge: float = math.sqrt(math.pi / 6)  # cube edge per unit size (a sphere's mean area)
    light: str = "hemisphere"  # hemisphere: random, on the sensor's side | fixed: light_direction
    light_direction: tuple[float, float, float] = (-1.0, 0.0, 1.0)  # light: fixed; towards the
    # light in the sensor frame (x right, y forward, z up): by default from the upper left
    light_spread_deg: float = 0.0  # light: fixed; each sample's light within this of it
    camera_failure: float = 0.1  # fraction of frames shot in the dark (RGB uninformative)
    lidar_failure: float = 0.1  # fraction of scans of a low-reflectivity object (few returns)
    # The LiDAR: a range image, one azimuth per row and one zenith per column
    max_range: float = 50.0  # metres; "no return" is written as this depth
    depth_noise: float = 0.005  # std of range noise per metre of range
    dropout: float = 0.02  # fraction of returns dropped at random
    # The camera: lidar (the range image's rays, pixel-aligned) | pinhole (an ordinary picture)
    camera: str = "lidar"
    camera_hfov_deg: float = 32.0  # pinhole: horizontal field of view
    camera_vfov_deg: float = 32.0  # pinhole: vertical field of view
    camera_azimuth_deg: float = 0.0  # pinhole: the optical axis, in the LiDAR's angles
    camera_zenith_deg: float = 0.0
    camera_supersampling: int = 1  # k x k rays averaged per camera pixel (antialiased edges)
    shading: str = "lambertian"  # lambertian | flat: every lit pixel gets the object's colour
    colour_model: str = "channels"  # channels: each uniform in `colour` | hue: saturated colours
    colour: tuple[float, float] = (0.25, 1.0)  # albedo range: per channel, or a hue's brightness
    saturation: tuple[float, float] = (1.0, 1.0)  # hue: HSV saturation range (< 1: pastel)
    rgb_noise: float = 0.02  # std of additive RGB noise, fraction of full scale
    exposure: tuple[float, float] = (0.6, 1.4)  # camera gain range
    gamma: float = 1.0  # the picture's encoding: light^(1 / gamma); 1 linear, 2.2 ~ sRGB
    ambient: tuple[float, float] = (0.05, 0.3)


# Named presets of `synthetic` (docs/data.md, "The synthetic renderer"): a scenario's values, which
# the keys set in params.yaml override. Each lists the keys it changes from the defaults above.
SCENARIOS: dict[str, dict] = {
    # Sensor-failure benchmark: large centred objects on pixel-aligned grids, and 10% of frames
    # that lose the camera and 10% the LiDAR, so that neither modality alone is enough.
    "failures": {},
    # The course's real data set, calibrated to its published figures and to real frames recovered
    # from published plots (docs/data.md: real vs generated): small objects 23.5-29.5 m away,
    # off-centre but inside the field of view; lit from the upper left and a little in front, within
    # 15 degrees of one direction (spheres show a compact lit disc, cubes graded faces), Lambertian
    # in pastel colours, gamma-encoded; on a camera grid that is not the LiDAR's (the range image is
    # the picture transposed, mirrored and zoomed ~1.5x, as fitted to real pairs); no injected
    # failures or noise beyond a faint camera noise.
    "course": {
        "centre_offset": 0.65,
        "distance": [23.5, 29.5],
        "size": [3.2, 3.2],
        "cube_edge": 1.0,
        "light": "fixed",
        "light_direction": [-1.0, -0.3, 1.0],
        "light_spread_deg": 15.0,
        "camera_failure": 0.0,
        "lidar_failure": 0.0,
        "depth_noise": 0.0,
        "dropout": 0.0,
        "camera": "pinhole",
        "camera_hfov_deg": 48.1,
        "camera_vfov_deg": 44.6,
        "camera_azimuth_deg": 0.25,
        "camera_zenith_deg": -0.25,
        "camera_supersampling": 2,
        "colour_model": "hue",
        "colour": [0.8, 0.95],
        "saturation": [0.05, 0.85],
        "gamma": 2.2,
        "rgb_noise": 0.0015,
        "exposure": [1.0, 1.0],
        "ambient": [0.0, 0.0],
    },
}


# What in each scenario's data separates the strategies: every report on it names this cause.
SCENARIO_CAUSES: dict[str, str] = {
    "failures": (
        "10% of frames lose the camera (shot in the dark) and 10% lose most LiDAR returns (a "
        "dark surface), never both, so a unimodal baseline can only guess on the frames its "
        "sensor lost while a strategy that uses both sensors need not; a gap between fusion and "
        "the baselines measures that injected failure rate, not fusion on real sensors"),
    "course": (
        "no injected failures; the LiDAR returns each object's whole silhouette (13-24 px "
        "across at 23.5-29.5 m) while the camera shows only its lit part (a compact disc or a "
        "cube's lit faces, 45-95 lit pixels), on a camera grid that is not the range image's "
        "(the range image is the picture transposed, mirrored and zoomed ~1.5x), so early "
        "fusion stacks channels that do not correspond pixel by pixel"),
}
SYNTHETIC_RAW = "data/raw/synthetic"  # where `generate` writes; the default data.raw


@dataclass(frozen=True)
class DataParams:
    raw: str = SYNTHETIC_RAW
    image_size: int = 24  # prepared H = W; smaller than native resizes both modalities
    max_range: float = 50.0  # depth >= this is "no return" (a = 0)
    skip_invalid: bool = False  # skip corrupt files (listed in the report) instead of failing


@dataclass(frozen=True)
class SplitParams:
    seed: int = 0
    val: float = 0.15  # a fraction of the samples (< 1), or a sample count (>= 1)
    test: float = 0.15  # likewise: a count keeps the test set's size apart from the training's


@dataclass(frozen=True)
class ModelParams:
    fusion: str = "hadamard"  # the promoted strategy (a key of `strategies`); export only
    feature_dim: int = 64  # channels of each modality's 8x8-downsampled feature map
    heads: int = 4  # attention heads (attention strategy only)


@dataclass(frozen=True)
class TrainParams:
    epochs: int = 5
    batch_size: int = 32
    lr: float = 1e-3  # Adam; the peak rate under the one-cycle schedule
    schedule: str = "onecycle"  # onecycle (warm-up, then cosine decay per batch) | constant
    weight_decay: float = 0.0
    seeds: tuple[int, ...] = (0, 1, 2)  # one run per seed: initialisation, batch order, dropout
    device: str = "auto"  # auto | cpu | cuda[:N] | mps
    class_weights: bool = False  # weight the loss by inverse class frequency (train split)
    modality_dropout: float = 0.2  # fraction of training samples with one modality zeroed


@dataclass(frozen=True)
class Equivalence:
    """Practical margins: a difference within +-delta counts as none (fractions, 0.005 = 0.5
    points)."""

    accuracy: float = 0.005  # test accuracy
    robustness: float = 0.02  # relative accuracies under faults (corrupted / clean accuracy)

    def of(self, metric: str) -> float:
        return self.robustness if metric.startswith("ra_") or metric == "mRA" else self.accuracy


@dataclass(frozen=True)
class EvaluateParams:
    batch_size: int = 64
    seed: int = 0  # fault draws and the samples' cells (fusion.faults.suite)
    device: str = "auto"
    ece_bins: int = 15
    latency_repeats: int = 20
    resamples: int = 2000  # bootstrap resamples of each strategy's interval (aggregate only)
    equivalence: Equivalence = field(default_factory=Equivalence)  # aggregate only
    collapse: float = 0.01  # a seed this far below its strategy's median accuracy collapsed
    reference: str = "late"  # the strategy corruption errors (mCE) are relative to
    gallery: int = 16  # test samples shown in the aggregate gallery (aggregate only)


# Keys a strategy may override, and the one it must name (`fusion`: the module it builds).
OVERRIDABLE = {
    "model": {f.name for f in dataclasses.fields(ModelParams)} - {"fusion"},
    "train": {f.name for f in dataclasses.fields(TrainParams)},
}
STRATEGY_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class StrategyConfig:
    """One strategy, resolved: shared `model`/`train` with its overrides applied."""

    name: str  # key in `strategies` (= the stage suffix)
    fusion: str  # registered op to build
    model: ModelParams
    train: TrainParams

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Params:
    synthetic: SyntheticParams
    data: DataParams
    split: SplitParams
    model: ModelParams
    train: TrainParams
    evaluate: EvaluateParams
    strategies: dict[str, dict]

    def strategy(self, name: str) -> StrategyConfig:
        if name not in self.strategies:
            raise ParamsError(
                f"unknown strategy {name!r}: `strategies` has {sorted(self.strategies)}"
            )
        overrides = dict(self.strategies[name])
        fusion = overrides.pop("fusion")
        model = {k: v for k, v in overrides.items() if k in OVERRIDABLE["model"]}
        train = {k: v for k, v in overrides.items() if k in OVERRIDABLE["train"]}
        return StrategyConfig(
            name=name,
            fusion=fusion,
            model=dataclasses.replace(self.model, fusion=fusion, **model),
            train=dataclasses.replace(self.train, **train),
        )

    @property
    def promoted(self) -> StrategyConfig:
        return self.strategy(self.model.fusion)

    def data_source(self) -> str:
        """Which data the results come from, and what in it separates the strategies."""
        if Path(self.data.raw) != Path(SYNTHETIC_RAW):
            return ("the data set at data.raw, not rendered by `generate`: the findings are "
                    "about that data alone")
        s = self.synthetic
        preset = synthetic_params({"scenario": s.scenario})
        changed = [f.name for f in dataclasses.fields(s) if f.name not in ("seed", "counts")
                   and getattr(s, f.name) != getattr(preset, f.name)]
        scenario = f"the synthetic scenario `{s.scenario}`" + (
            f" with {', '.join(changed)} changed from its preset" if changed else "")
        return f"{scenario}: {SCENARIO_CAUSES[s.scenario]}"


def load(path: str | Path = "params.yaml") -> Params:
    """Read and validate params.yaml; raise ParamsError naming the first bad key."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path}: params file not found")
    raw = yaml.safe_load(path.read_text()) or {}
    return from_dict(raw, source=str(path))


def from_dict(raw: dict, source: str = "params") -> Params:
    if not isinstance(raw, dict):
        raise ParamsError(f"{source}: expected a mapping at the top level")
    sections = {f.name: f.type for f in dataclasses.fields(Params)}
    unknown = set(raw) - set(sections)
    if unknown:
        raise ParamsError(f"{source}: unknown section(s) {sorted(unknown)}")
    hints = typing.get_type_hints(Params)
    built = {}
    for name in sections:
        if name in ("synthetic", "strategies"):
            continue
        built[name] = _build(hints[name], raw.get(name, {}), name)
    built["synthetic"] = synthetic_params(raw.get("synthetic"))
    built["strategies"] = _strategies(raw.get("strategies"))
    params = Params(**built)
    _check_ranges(params)
    for name in params.strategies:  # every override must produce valid values too
        resolved = params.strategy(name)
        _check_model(resolved.model, f"strategies.{name}")
        _check_train(resolved.train, f"strategies.{name}")
    if params.model.fusion not in params.strategies:
        raise ParamsError(
            f"model.fusion: {params.model.fusion!r} is not a key of `strategies`; "
            f"valid names: {sorted(params.strategies)}"
        )
    return params


def _build(cls, value, key: str):
    """Build dataclass `cls` from a dict, checking keys and leaf types."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ParamsError(f"{key}: expected a mapping, got {type(value).__name__}")
    hints = typing.get_type_hints(cls)
    unknown = set(value) - set(hints)
    if unknown:
        raise ParamsError(
            f"{key}: unknown key(s) {sorted(unknown)}; expected some of {sorted(hints)}"
        )
    kwargs = {}
    for name, hint in hints.items():
        if name not in value:
            continue
        kwargs[name] = _coerce(hint, value[name], f"{key}.{name}")
    return cls(**kwargs)


def _coerce(hint, value, key: str):
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, key)
    origin = typing.get_origin(hint)
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(value, (list, tuple)):
            raise ParamsError(f"{key}: expected a list, got {value!r}")
        if args[-1] is not Ellipsis and len(value) != len(args):
            raise ParamsError(f"{key}: expected a list of {len(args)} numbers, got {value!r}")
        items = tuple(_coerce(args[0], v, f"{key}[{i}]") for i, v in enumerate(value))
        if len(args) == 2 and args[1] is not Ellipsis and items[0] > items[1]:  # [low, high]
            raise ParamsError(f"{key}: expected [low, high] with low <= high, got {value!r}")
        return items
    if hint is bool:
        if not isinstance(value, bool):
            raise ParamsError(f"{key}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParamsError(f"{key}: expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, str):  # YAML reads "1e-3" as a string
            try:
                value = float(value)
            except ValueError:
                raise ParamsError(f"{key}: expected a number, got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParamsError(f"{key}: expected a number, got {value!r}")
        if value != value or value in (float("inf"), float("-inf")):
            raise ParamsError(f"{key}: expected a finite number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str) or not value:
            raise ParamsError(f"{key}: expected a non-empty string, got {value!r}")
        return value
    if isinstance(hint, types.GenericAlias):  # pragma: no cover - only dict[str, dict] uses it
        return value
    raise TypeError(f"{key}: unsupported params type {hint}")  # pragma: no cover


def _strategies(value) -> dict[str, dict]:
    if not isinstance(value, dict) or not value:
        raise ParamsError("strategies: expected a non-empty mapping of name -> overrides")
    allowed = OVERRIDABLE["model"] | OVERRIDABLE["train"] | {"fusion"}
    out = {}
    for name, overrides in value.items():
        if not isinstance(name, str) or not STRATEGY_NAME.match(name):
            raise ParamsError(f"strategies: name {name!r} must match {STRATEGY_NAME.pattern}")
        overrides = {} if overrides is None else overrides
        if not isinstance(overrides, dict):
            raise ParamsError(
                f"strategies.{name}: expected a mapping of overrides, got {overrides!r}"
            )
        if not isinstance(overrides.get("fusion"), str):
            raise ParamsError(
                f"strategies.{name}: needs `fusion: <op>`, the strategy module it builds "
                f"(fusion/strategies/<op>.py, e.g. `fusion: {name}`); its DVC stages depend on "
                f"that file, got {overrides.get('fusion')!r}"
            )
        unknown = set(overrides) - allowed
        if unknown:
            raise ParamsError(
                f"strategies.{name}: unknown key(s) {sorted(unknown)}; "
                f"a strategy may set `fusion` and any of {sorted(allowed - {'fusion'})}"
            )
        typed = {}
        for key, v in overrides.items():
            if v is None:  # listed but null: the shared value (so `-S strategies.x.lr=` can set it)
                continue
            section = ModelParams if key in OVERRIDABLE["model"] | {"fusion"} else TrainParams
            hint = typing.get_type_hints(section)[key]
            typed[key] = _coerce(hint, v, f"strategies.{name}.{key}")
        out[name] = typed
    return out


def _require(ok: bool, key: str, expected: str, value) -> None:
    if not ok:
        raise ParamsError(f"{key}: expected {expected}, got {value!r}")


def _check_model(m: ModelParams, key: str) -> None:
    _require(m.feature_dim >= 1, f"{key}.feature_dim", "an integer >= 1", m.feature_dim)
    _require(m.heads >= 1, f"{key}.heads", "an integer >= 1", m.heads)


def _check_train(t: TrainParams, key: str) -> None:
    _require(t.epochs >= 1, f"{key}.epochs", "an integer >= 1", t.epochs)
    _require(t.batch_size >= 1, f"{key}.batch_size", "an integer >= 1", t.batch_size)
    _require(t.lr > 0, f"{key}.lr", "a number > 0", t.lr)
    _require(t.weight_decay >= 0, f"{key}.weight_decay", "a number >= 0", t.weight_decay)
    _require(len(t.seeds) >= 1 and all(s >= 0 for s in t.seeds), f"{key}.seeds",
             "a non-empty list of integers >= 0", list(t.seeds))
    _require(len(set(t.seeds)) == len(t.seeds), f"{key}.seeds", "distinct seeds",
             list(t.seeds))
    _check_device(t.device, f"{key}.device")
    _require(t.schedule in ("onecycle", "constant"), f"{key}.schedule", "onecycle or constant",
             t.schedule)
    _require(
        0 <= t.modality_dropout < 1, f"{key}.modality_dropout", "a fraction in [0, 1)",
        t.modality_dropout,
    )


def synthetic_params(value) -> SyntheticParams:
    """`synthetic` from a mapping: its scenario's preset, overridden by the keys given; checked."""
    value = {} if value is None else value
    if not isinstance(value, dict):
        raise ParamsError(f"synthetic: expected a mapping, got {type(value).__name__}")
    name = value.get("scenario", SyntheticParams.scenario)
    _require(isinstance(name, str) and name in SCENARIOS, "synthetic.scenario",
             f"one of {sorted(SCENARIOS)}", name)
    params = _build(SyntheticParams, {**SCENARIOS[name], **value}, "synthetic")
    check_synthetic(params)
    return params


def check_synthetic(s: SyntheticParams) -> None:
    """Raise ParamsError naming the first out-of-range `synthetic` key."""
    _require(s.scenario in SCENARIOS, "synthetic.scenario", f"one of {sorted(SCENARIOS)}",
             s.scenario)
    _require(s.seed >= 0, "synthetic.seed", "an integer >= 0", s.seed)
    _require(s.image_size >= 8, "synthetic.image_size", "an integer >= 8", s.image_size)
    _require(0 < s.fov_deg < 180, "synthetic.fov_deg", "degrees in (0, 180)", s.fov_deg)
    for cls in ("cubes", "spheres"):
        n = getattr(s.counts, cls)
        _require(n >= 0, f"synthetic.counts.{cls}", "a count >= 0", n)
    _require(s.counts.cubes + s.counts.spheres > 0, "synthetic.counts", "at least one sample",
             dataclasses.asdict(s.counts))
    _require(0 <= s.centre_offset <= 1, "synthetic.centre_offset", "a fraction in [0, 1]",
             s.centre_offset)
    _require(s.distance[0] > 0, "synthetic.distance", "positive metres", s.distance)
    _require(s.size[0] > 0, "synthetic.size", "positive metres", s.size)
    _require(s.cube_edge > 0, "synthetic.cube_edge", "a number > 0", s.cube_edge)
    reach = s.size[1] * max(0.5, s.cube_edge * math.sqrt(3) / 2)  # largest radius/half-diagonal
    _require(s.distance[0] > reach, "synthetic.distance",
             f"the nearest centre beyond the largest object's reach ({reach:.3f} m for size "
             f"{s.size[1]} m), so that the sensor stays outside", s.distance)
    _require(s.distance[1] + s.size[1] < s.max_range, "synthetic.max_range",
             "a range beyond the farthest object", s.max_range)
    _require(s.light in ("hemisphere", "fixed"), "synthetic.light", "hemisphere or fixed",
             s.light)
    _require(math.hypot(*s.light_direction) > 0, "synthetic.light_direction",
             "a non-zero vector [x, y, z]", s.light_direction)
    _require(0 <= s.light_spread_deg <= 90, "synthetic.light_spread_deg", "degrees in [0, 90]",
             s.light_spread_deg)
    for key in ("camera_failure", "lidar_failure"):
        v = getattr(s, key)
        _require(0 <= v <= 1, f"synthetic.{key}", "a fraction in [0, 1]", v)
    _require(s.camera_failure + s.lidar_failure <= 1, "synthetic.camera_failure",
             "camera_failure + lidar_failure <= 1 (the failures are disjoint)",
             (s.camera_failure, s.lidar_failure))
    _require(s.depth_noise >= 0, "synthetic.depth_noise", "a number >= 0", s.depth_noise)
    _require(0 <= s.dropout < 1, "synthetic.dropout", "a fraction in [0, 1)", s.dropout)
    _require(s.camera in ("lidar", "pinhole"), "synthetic.camera", "lidar or pinhole", s.camera)
    for axis in ("hfov", "vfov"):
        fov = getattr(s, f"camera_{axis}_deg")
        _require(0 < fov < 180, f"synthetic.camera_{axis}_deg", "degrees in (0, 180)", fov)
    for angle in ("azimuth", "zenith"):
        aim = getattr(s, f"camera_{angle}_deg")
        _require(-90 < aim < 90, f"synthetic.camera_{angle}_deg", "degrees in (-90, 90)", aim)
    _require(1 <= s.camera_supersampling <= 8, "synthetic.camera_supersampling",
             "an integer in [1, 8]", s.camera_supersampling)
    _require(s.shading in ("lambertian", "flat"), "synthetic.shading", "lambertian or flat",
             s.shading)
    _require(s.colour_model in ("channels", "hue"), "synthetic.colour_model", "channels or hue",
             s.colour_model)
    _require(0 <= s.colour[0] and s.colour[1] <= 1, "synthetic.colour", "values in [0, 1]",
             s.colour)
    _require(0 <= s.saturation[0] and s.saturation[1] <= 1, "synthetic.saturation",
             "values in [0, 1]", s.saturation)
    _require(s.rgb_noise >= 0, "synthetic.rgb_noise", "a number >= 0", s.rgb_noise)
    _require(s.exposure[0] >= 0, "synthetic.exposure", "non-negative gains", s.exposure)
    _require(s.gamma > 0, "synthetic.gamma", "a number > 0", s.gamma)
    _require(0 <= s.ambient[0] and s.ambient[1] <= 1, "synthetic.ambient", "values in [0, 1]",
             s.ambient)


def _check_ranges(p: Params) -> None:
    d = p.data
    _require(d.image_size >= 8, "data.image_size", "an integer >= 8", d.image_size)
    _require(d.max_range > 0, "data.max_range", "a number > 0", d.max_range)

    sp = p.split
    _require(sp.seed >= 0, "split.seed", "an integer >= 0", sp.seed)
    for key in ("val", "test"):
        v = getattr(sp, key)
        _require(0 < v < 1 or (v >= 1 and v == int(v)), f"split.{key}",
                 "a fraction in (0, 1) or a whole sample count >= 1", v)
    fractions = [v for v in (sp.val, sp.test) if v < 1]
    _require(sum(fractions) < 1, "split", "val + test < 1 for fractions", (sp.val, sp.test))

    _check_model(p.model, "model")
    _check_train(p.train, "train")

    e = p.evaluate
    _require(e.batch_size >= 1, "evaluate.batch_size", "an integer >= 1", e.batch_size)
    _check_device(e.device, "evaluate.device")
    _require(e.ece_bins >= 1, "evaluate.ece_bins", "an integer >= 1", e.ece_bins)
    _require(e.latency_repeats >= 1, "evaluate.latency_repeats", "an integer >= 1",
             e.latency_repeats)
    _require(e.resamples >= 100, "evaluate.resamples", "an integer >= 100", e.resamples)
    _require(e.gallery >= 0, "evaluate.gallery", "an integer >= 0", e.gallery)
    for key in ("accuracy", "robustness"):
        v = getattr(e.equivalence, key)
        _require(0 < v < 1, f"evaluate.equivalence.{key}", "a fraction in (0, 1)", v)
    _require(0 < e.collapse < 1, "evaluate.collapse", "a fraction in (0, 1)", e.collapse)
    _require(e.reference in p.strategies, "evaluate.reference", "a key of `strategies`",
             e.reference)


def _check_device(name: str, key: str) -> None:
    """The name's form only: availability is checked where the device is used."""
    try:
        devices.check_name(name, key)
    except ValueError as e:
        raise ParamsError(str(e)) from None
