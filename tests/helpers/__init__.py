"""Helpers the tests share: the repository's paths, the lifecycle's small steps, child processes,
and the provider contract's adapter under test."""
