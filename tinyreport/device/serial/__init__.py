"""Device logs over serial: the record protocol, capture from a port, parsing and ingest."""
