"""A small DMP client: XDS metadata from a CDA document, a signed VIHF, ITI-41/18/43/57 and TD0.2/TD0.3."""
