"""oO test suite: unit, integration and e2e layers (run in separate pytest processes)."""
