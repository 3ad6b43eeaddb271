"""Program feedback surveys."""
