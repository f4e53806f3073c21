"""Task code as plain functions: losses, metrics, decoding, train/eval steps."""
