import torch

from fusion.strategies.add import Add


def test_is_the_elementwise_sum():
    a, b = torch.randn(2, 3, 5, 4, 4)
    assert torch.equal(Add(5)(a, b), a + b)
    assert Add(5).out_channels == 5
