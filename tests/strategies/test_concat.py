import torch

from fusion.strategies.concat import Concat


def test_stacks_rgb_channels_before_lidar_channels():
    a, b = torch.randn(2, 3, 5, 4, 4)
    fused = Concat(5)(a, b)
    assert Concat(5).out_channels == 10
    assert torch.equal(fused[:, :5], a) and torch.equal(fused[:, 5:], b)
