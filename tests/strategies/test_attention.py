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


def test_lidar_stream_attends_to_the_rgb_tokens():
    """Cross-attention, not self-attention: the LiDAR stream moves when only RGB does."""
    torch.manual_seed(0)
    a, b = torch.randn(2, 3, CHANNELS, GRID, GRID)
    fusion = CrossAttentionFusion(CHANNELS, GRID, heads=2).eval()
    with torch.no_grad():
        _, lidar = fusion.streams(a, b)
        _, lidar_other_rgb = fusion.streams(torch.randn_like(a), b)
        rgb, _ = fusion.streams(a, b)
        rgb_other_lidar, _ = fusion.streams(a, torch.randn_like(b))
    assert not torch.allclose(lidar_other_rgb, lidar, atol=1e-5)
    assert not torch.allclose(rgb_other_lidar, rgb, atol=1e-5)


def test_each_stream_queries_its_own_tokens_against_the_other():
    """The streams, recomposed from the two blocks: LiDAR tokens query the RGB tokens (keys and
    values) in `lidar_from_rgb`, and the reverse in `rgb_from_lidar`; each keeps its own tokens
    as the residual."""
    torch.manual_seed(0)
    a, b = torch.randn(2, 3, CHANNELS, GRID, GRID)
    fusion = CrossAttentionFusion(CHANNELS, GRID, heads=2).eval()
    tokens_rgb = a.flatten(2).transpose(1, 2) + fusion.position
    tokens_lidar = b.flatten(2).transpose(1, 2) + fusion.position

    def attend(block, x, context):
        return block.norm(x + block.attention(x, context, context, need_weights=False)[0])

    with torch.no_grad():
        rgb, lidar = fusion.streams(a, b)
        torch.testing.assert_close(lidar, attend(fusion.lidar_from_rgb, tokens_lidar, tokens_rgb))
        torch.testing.assert_close(rgb, attend(fusion.rgb_from_lidar, tokens_rgb, tokens_lidar))
        torch.testing.assert_close(fusion(a, b), (rgb + lidar).transpose(1, 2).reshape(a.shape))
