"""The host's integrations dashboard: provider cards, provider panels, lock assignments, disconnect."""
