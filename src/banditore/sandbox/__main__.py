"""`python -m banditore.sandbox`: run the WhatsApp Cloud API sandbox."""

from banditore.sandbox.cli import main

raise SystemExit(main())
