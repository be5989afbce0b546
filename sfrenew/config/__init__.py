"""Loading sfrenew's configuration file, section by section, strictly."""
