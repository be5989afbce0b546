"""sfrenew.core."""
