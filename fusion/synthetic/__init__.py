"""Synthetic cubes and spheres, written in the course's assessment layout.

One sensor model a module, so each can grow on its own:
- `scene`: one object per sample (pose, size, light, sensor failures) and exact ray casting;
- `lidar`: the range image, one azimuth per row and one zenith per column (course convention);
- `camera`: the RGBA picture, on the LiDAR's rays (pixel-aligned) or through a pinhole camera
  of its own (an ordinary picture, not aligned with the range image);
- `render`: the three together for n samples; `writer`: the files of a whole data set;
- `calibration`: the figures by which a rendered set is compared with the real one;
  `reference`: those figures of real frames recovered from published plots.
The settings and their named scenarios are `fusion.params.SyntheticParams` and `SCENARIOS`.
"""

from fusion.synthetic.lidar import LOW_REFLECTIVITY_RETURN_RATE
from fusion.synthetic.render import Scenes, render
from fusion.synthetic.scene import CLASSES, Objects
from fusion.synthetic.writer import generate

__all__ = ["CLASSES", "LOW_REFLECTIVITY_RETURN_RATE", "Objects", "Scenes", "generate", "render"]
