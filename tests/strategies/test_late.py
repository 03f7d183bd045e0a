import torch

from fusion.params import ModelParams
from fusion.strategies import build


def test_fused_logits_are_the_mean_log_probability_of_the_experts():
    torch.manual_seed(0)
    model = build("late", ModelParams(feature_dim=8), 16)
    rgb, xyza = torch.randn(2, 3, 4, 16, 16)
    rgb_log_probs = model.rgb_classifier(rgb).log_softmax(dim=1)
    lidar_log_probs = model.lidar_classifier(xyza).log_softmax(dim=1)
    fused = model(rgb, xyza)
    torch.testing.assert_close(fused, (rgb_log_probs + lidar_log_probs) / 2)
    geometric_mean = (rgb_log_probs.exp() * lidar_log_probs.exp()).sqrt()
    product_of_experts = geometric_mean / geometric_mean.sum(dim=1, keepdim=True)
    torch.testing.assert_close(fused.softmax(dim=1), product_of_experts)
