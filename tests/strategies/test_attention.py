import pytest
import torch

from fusion.strategies.attention import CrossAttentionFusion

GRID, CHANNELS = 4, 8


def permute_grid(x: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """Reorder the h * w positions of a (B, C, h, w) map."""
    return x.flatten(2)[..., order].view_as(x)


def test_keeps_the_feature_map_shape():
    a, b = torch.randn(2, 3, CHANNELS, GRID, GRID)
    fusion = CrossAttentionFusion(CHANNELS, GRID, heads=2)
    assert fusion(a, b).shape == a.shape
    assert fusion.out_channels == CHANNELS


def test_positional_embedding_makes_rgb_stream_depend_on_lidar_layout():
    torch.manual_seed(0)
    a, b = torch.randn(2, 3, CHANNELS, GRID, GRID)
    fusion = CrossAttentionFusion(CHANNELS, GRID, heads=2).eval()
    shuffled = permute_grid(b, torch.randperm(GRID * GRID))
    rgb, _ = fusion.streams(a, b)
    assert not torch.allclose(fusion.streams(a, shuffled)[0], rgb, atol=1e-5)
    with torch.no_grad():
        fusion.position.zero_()  # attention alone is blind to where a LiDAR token sits
    rgb, _ = fusion.streams(a, b)
    torch.testing.assert_close(fusion.streams(a, shuffled)[0], rgb)


def test_extra_parameters_follow_the_documented_formula():
    c, n = 128, 64
    assert sum(p.numel() for p in CrossAttentionFusion(c, 8, heads=4).parameters()) == (
        8 * c**2 + 12 * c + n * c
    )


def test_heads_must_divide_feature_dim():
    with pytest.raises(ValueError, match="feature_dim 10 is not divisible by heads 4"):
        CrossAttentionFusion(10, GRID, heads=4)
