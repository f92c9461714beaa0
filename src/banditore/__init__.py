"""Banditore: a comune's WhatsApp news and alert service."""
