"""A user's molecules through a trained run."""
