import torch

from fusion.strategies.matmul import MatMul


def test_is_a_matrix_product_per_sample_and_channel():
    a, b = torch.randn(2, 3, 5, 4, 4)
    fused = MatMul(5)(a, b)
    for i in range(3):
        for c in range(5):
            torch.testing.assert_close(fused[i, c], a[i, c] @ b[i, c])
    assert not torch.allclose(fused, MatMul(5)(b, a))  # RGB on the left
