"""Models: the networks' building blocks, the training loop, seeds trained at once, checkpoints.
The strategies themselves are `fusion.strategies`."""
