"""Evidence stage: payload fingerprints, what protocol the bytes really speak."""
