"""Registry of sensor faults: name -> `Fault`, applied to RAW test inputs in the sensor's units.

Inputs are what the evaluation has before normalisation: RGBA (N, 4, H, W) uint8 or float in
[0, 255] (alpha 255), and XYZA (N, 4, H, W) float32 in metres, a = 1 for a return and a = 0 for
"no return", written at `max_range` along its ray. Range-image rows follow azimuth and columns
zenith (`fusion.data.geometry`), so one LiDAR beam (a laser at one elevation) is one COLUMN.

A fault is one function registered with `@register(...)` in the module of its sensor (camera.py,
lidar.py, alignment.py, imported in that order):
- camera: `fn(rgb, severity, generator) -> rgb` (float32);
- lidar: `fn(xyza, severity, generator, max_range) -> xyza`;
- alignment: `fn(rgb, xyza, severity, generator, max_range, rig) -> (rgb, xyza)`.
Calling a `Fault` checks the severity and returns (rgb, xyza), the untouched sensor as given (the
same tensor). Inputs are never modified; the result depends only on the generator's state.
Each misalignment names its translation `control` (the same transform applied to both sensors).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from fusion.faults.rig import Rig

SENSORS = ("camera", "lidar", "alignment")


@dataclass(frozen=True)
class Fault:
    """A registered fault: its sensor, function and default severities in `unit`."""

    name: str
    sensor: str  # one of SENSORS
    fn: Callable
    severities: tuple[float, ...]  # mildest first, strictly increasing; 0 is the clean input
    unit: str
    description: str  # the first line of fn's docstring
    limits: tuple[float, float]  # the valid severities, inclusive
    integer: bool = False  # severities must be whole numbers (pixels)
    control: str | None = None  # a misalignment's control: the same transform on both sensors
    is_control: bool = False  # a control, not a fault: leave it out of fault summaries

    def check(self, severity: float) -> None:
        """Raise ValueError naming the fault and the value unless `severity` is valid."""
        low, high = self.limits
        if not (isinstance(severity, int | float) and math.isfinite(severity)
                and low <= severity <= high and (not self.integer or severity == int(severity))):
            kind = "a whole number" if self.integer else "a number"
            raise ValueError(f"fault {self.name!r}: severity must be {kind} in [{low}, {high}] "
                             f"({self.unit}), got {severity!r}")

    def __call__(self, rgb: torch.Tensor, xyza: torch.Tensor, severity: float,
                 generator: torch.Generator, max_range: float,
                 rig: Rig | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(rgb, xyza) under this fault at `severity`; `rig` is required by alignment faults."""
        self.check(severity)
        if rgb.ndim != 4 or rgb.shape != xyza.shape or rgb.shape[1] != 4:
            raise ValueError(f"fault {self.name!r}: expected rgb and xyza (N, 4, H, W), got "
                             f"{tuple(rgb.shape)} and {tuple(xyza.shape)}")
        if self.sensor == "camera":
            return self.fn(rgb, severity, generator), xyza
        if self.sensor == "lidar":
            return rgb, self.fn(xyza, severity, generator, max_range)
        if rig is None:
            raise ValueError(f"fault {self.name!r}: an alignment fault needs the sensors' rig "
                             "(fusion.faults.rig)")
        return self.fn(rgb, xyza, severity, generator, max_range, rig)


FAULTS: dict[str, Fault] = {}


def register(name: str, sensor: str, severities: tuple[float, ...], unit: str,
             limits: tuple[float, float], **options) -> Callable[[Callable], Callable]:
    """Decorator: register `fn` as fault `name` (options: integer, control, is_control)."""

    def decorator(fn: Callable) -> Callable:
        if name in FAULTS:
            raise ValueError(f"fault {name!r} is already registered")
        if sensor not in SENSORS:
            raise ValueError(f"fault {name!r}: sensor must be one of {SENSORS}, got {sensor!r}")
        if not (3 <= len(severities) <= 5 and all(
                a < b for a, b in zip(severities, severities[1:], strict=False))):
            raise ValueError(f"fault {name!r}: expected 3-5 strictly increasing severities, "
                             f"got {severities}")
        if not fn.__doc__:
            raise ValueError(f"fault {name!r}: {fn.__name__} needs a docstring (its description)")
        fault = Fault(name, sensor, fn, tuple(severities), unit, fn.__doc__.strip().splitlines()[0],
                      limits, **options)
        for severity in fault.severities:
            fault.check(severity)
        FAULTS[name] = fault
        return fn

    return decorator


def available(sensor: str | None = None) -> list[str]:
    """Registered fault names (of one sensor), controls left out, in registration order."""
    return [name for name, fault in FAULTS.items()
            if not fault.is_control and sensor in (None, fault.sensor)]


def _check_controls() -> None:
    """Every misalignment's control is a registered control with the same severities."""
    for fault in FAULTS.values():
        control = FAULTS.get(fault.control) if fault.control else None
        if fault.control and not (control and control.is_control
                                  and control.severities == fault.severities):
            raise ValueError(f"fault {fault.name!r}: control {fault.control!r} is not a "
                             "registered control with the same severities")


# Each sensor's module registers its faults, in this order (camera, LiDAR, then alignment).
from fusion.faults import camera  # noqa: E402, F401, I001
from fusion.faults import lidar  # noqa: E402, F401, I001
from fusion.faults import alignment  # noqa: E402, F401, I001

_check_controls()
