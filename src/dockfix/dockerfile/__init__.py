"""The Dockerfile's own text: the lossless document, its stages, the shell inside RUN, image
references and suppression comments. Nothing here reads the project or the network."""
