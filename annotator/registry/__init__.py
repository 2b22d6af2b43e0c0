"""Registry stage: the IANA Service Name and Transport Protocol Port Number Registry."""
