"""sfrenew.localorg."""
