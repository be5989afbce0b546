"""sfrenew.store."""
