import pytest
import torch

from fusion.params import ModelParams
from fusion.strategies import build


@pytest.mark.parametrize("name, used", [("rgb_only", 0), ("lidar_only", 1)])
def test_a_baseline_sees_its_own_modality_only(name, used):
    torch.manual_seed(0)
    model = build(name, ModelParams(feature_dim=8), 16)
    inputs = [torch.randn(3, 4, 16, 16, requires_grad=True) for _ in range(2)]
    out = model(*inputs)
    other = [x.clone().normal_() for x in inputs]
    other[used] = inputs[used]  # replace only the modality it ignores
    torch.testing.assert_close(model(*other), out)
    out.sum().backward()
    assert inputs[used].grad.abs().sum() > 0 and inputs[1 - used].grad is None
    changed = [x.detach().clone() for x in inputs]
    changed[used] += 1.0
    assert not torch.allclose(model(*changed), out)  # and its own input does matter
