"""E-mail: one message, a text part and an HTML part, over SMTP (``MAIL_BACKEND=smtp``) or, in
development and tests, written to a file under MAIL_DIR (``file``). Templates are .txt + .html pairs
under templates/email/; notifications are rendered and sent through caas.events.notify."""
from __future__ import annotations

import logging
import re
import smtplib
import time
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass
class Settings:
    backend: str = "file"  # file | console | smtp
    directory: str = "instance/mail"
    sender: str = "CaaS <no-reply@caas.example.com>"
    smtp_host: str = "localhost"
    smtp_port: int = 25


settings = Settings()


def configure(**values) -> None:
    for key, value in values.items():
        setattr(settings, key, value)


def send(to: str, subject: str, text_body: str, html_body: str | None = None) -> str:
    """Send one message; returns its Message-ID."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message_id = f"<{uuid.uuid4().hex}@caas>"
    message["Message-ID"] = message_id
    message.set_content(text_body)
    if html_body:
        message.add_alternative(html_body, subtype="html")
    if settings.backend == "smtp":
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
            smtp.send_message(message)
    elif settings.backend == "file":
        folder = Path(settings.directory)
        folder.mkdir(parents=True, exist_ok=True)
        safe_to = re.sub(r"[^a-zA-Z0-9@._-]", "_", to)
        (folder / f"{time.time_ns()}-{safe_to}.eml").write_bytes(bytes(message))
    log.info("mail sent", extra={"to": to, "subject": subject, "backend": settings.backend})
    return message_id


def messages_to(address: str, directory: str | None = None) -> list[EmailMessage]:
    """The file backend's messages to ``address``, oldest first (for tests and the dev console)."""
    from email import policy
    from email.parser import BytesParser

    folder = Path(directory or settings.directory)
    found = []
    for path in sorted(folder.glob("*.eml")):
        msg = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        if msg["To"] and msg["To"].lower() == address.lower():
            found.append(msg)
    return found
