"""Ground truth: one-sided spasms injected into real face videos, and the real videos themselves."""
