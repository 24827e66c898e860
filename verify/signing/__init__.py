"""Keys, document signing and the publication of key and status lists."""
