import torch

from fusion.strategies.film import FiLM


def test_starts_as_the_identity_on_rgb():
    a, b = torch.randn(2, 3, 5, 4, 4)
    assert torch.equal(FiLM(5)(a, b), a)


def test_scales_and_shifts_rgb_per_channel_from_pooled_lidar():
    a, b = torch.randn(2, 3, 5, 4, 4)
    film = FiLM(5)
    torch.nn.init.normal_(film.scale_shift.weight)
    gamma, beta = film.scale_shift(b.mean(dim=(2, 3))).chunk(2, dim=1)
    expected = (1 + gamma[..., None, None]) * a + beta[..., None, None]
    torch.testing.assert_close(film(a, b), expected)
    shuffled = b.flatten(2)[..., torch.randperm(16)].view_as(b)  # same per-channel means
    torch.testing.assert_close(film(a, shuffled), expected)


def test_costs_2c_squared_plus_2c_parameters():
    assert sum(p.numel() for p in FiLM(128).parameters()) == 33_024
