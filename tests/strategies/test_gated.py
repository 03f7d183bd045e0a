import torch

from fusion.strategies.gated import Gated


def test_output_lies_between_the_two_maps():
    a, b = torch.randn(2, 3, 5, 4, 4)
    fused = Gated(5)(a, b)
    assert (fused >= torch.minimum(a, b) - 1e-6).all()
    assert (fused <= torch.maximum(a, b) + 1e-6).all()


def test_a_saturated_gate_selects_one_modality():
    a, b = torch.randn(2, 3, 5, 4, 4)
    gated = Gated(5)
    torch.nn.init.zeros_(gated.gate.weight)
    for bias, expected in ((30.0, a), (-30.0, b)):  # z = 1 -> a, z = 0 -> b
        torch.nn.init.constant_(gated.gate.bias, bias)
        torch.testing.assert_close(gated(a, b), expected)


def test_gate_costs_2c_squared_plus_c_parameters():
    assert sum(p.numel() for p in Gated(128).parameters()) == 32_896
