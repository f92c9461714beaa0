"""The e-mail channel kind: Django's mail API (SMTP or an ESP through django-anymail), RFC 8058
one-click unsubscribe, and the ESP's tracking events turned into the contract's items."""
