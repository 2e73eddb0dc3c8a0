"""Real-time serving: endpoints from the registry, safe swaps, traffic policies."""
