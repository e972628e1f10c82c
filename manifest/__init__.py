"""The Teams app manifest, icons and the package builder (issue 3)."""
