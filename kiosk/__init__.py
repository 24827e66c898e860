"""The offline kiosk: a local verification screen for a court lobby."""
