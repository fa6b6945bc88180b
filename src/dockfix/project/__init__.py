"""The project being fixed, read and never executed: the build context (package.json, lockfiles,
npm scripts), compose files, discovery of Dockerfiles, ignore patterns, configuration files and
the one place that writes files safely."""
