import torch

from fusion.params import ModelParams
from fusion.strategies import build


def test_lidar_enters_as_input_channels_4_to_7():
    torch.manual_seed(0)
    model = build("early", ModelParams(feature_dim=8), 16)
    first_conv = model.classifier.encoder[0]
    assert first_conv.in_channels == 8
    rgb, xyza = torch.randn(2, 3, 4, 16, 16)
    with torch.no_grad():
        first_conv.weight[:, 4:] = 0  # cut the LiDAR channels
        torch.testing.assert_close(model(rgb, xyza), model(rgb, torch.randn_like(xyza)))
        assert not torch.allclose(model(rgb, xyza), model(torch.randn_like(rgb), xyza))


def test_output_moves_with_the_lidar_input_through_the_stacked_channels():
    torch.manual_seed(0)
    model = build("early", ModelParams(feature_dim=8), 16).eval()
    rgb, xyza = torch.randn(2, 3, 4, 16, 16)
    with torch.no_grad():
        logits = model(rgb, xyza)
        moved = (model(rgb, torch.randn_like(xyza)) - logits).abs().amax(dim=1)
        assert (moved > 1e-6).all(), f"LiDAR leaves the logits unchanged: {moved}"
        # RGBA in channels 0-3, XYZA in 4-7, one classifier on the 8 of them.
        torch.testing.assert_close(logits, model.classifier(torch.cat([rgb, xyza], dim=1)))
