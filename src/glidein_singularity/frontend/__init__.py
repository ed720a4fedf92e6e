"""Admin-side tooling: the frontend/factory YAML model, lint, render to GlideinWMS XML, import."""
