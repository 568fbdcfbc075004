"""Real local stand-ins for the outside world: HTTP feed servers, a Slack endpoint, service checks."""
