"""dockfix: rewrites Node.js Dockerfiles into production-grade ones."""

__version__ = "0.1.0"
