"""sfrenew.mapping."""
