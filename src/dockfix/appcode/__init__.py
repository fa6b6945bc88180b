"""The application's own code, read with tree-sitter: the source file behind the entry point the
container starts, and the graceful-shutdown handler added to it (practice 6)."""
