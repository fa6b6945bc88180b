"""Knowledge from outside the project: the registry client, Node.js releases and advisories,
version ranges, and the cache folder they share."""
