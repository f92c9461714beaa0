"""The sandbox's e-mail side: an SMTP sink with a page and JSON of what each address
received, and Postmark-format bounce/complaint webhooks. No Django here."""

from banditore.sandbox.mail.api import add_routes
from banditore.sandbox.mail.config import MailConfig
from banditore.sandbox.mail.instance import MAIL_KEY, MailSandbox

__all__ = ["MAIL_KEY", "MailConfig", "MailSandbox", "add_routes"]
