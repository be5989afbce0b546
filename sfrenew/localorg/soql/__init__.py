"""sfrenew.localorg.soql."""
