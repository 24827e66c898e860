"""wathiq: signed court documents whose QR code anyone can verify.

The core (this package) holds the payload format, trust data, scanning, verdicts
and the registry. ``verify.signing`` issues and publishes; ``verify.api`` and the
``kiosk`` package are outer layers that call the core, never the other way round.
"""
