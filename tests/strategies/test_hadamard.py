import torch

from fusion.strategies.hadamard import Hadamard


def test_is_the_elementwise_product():
    a, b = torch.randn(2, 3, 5, 4, 4)
    assert torch.equal(Hadamard(5)(a, b), a * b)
    assert Hadamard(5).out_channels == 5
