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
