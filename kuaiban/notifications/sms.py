"""The SMS interface. A real gateway implements `send`; the demo prints to the console."""

import logging

logger = logging.getLogger("kuaiban.sms")


class SMSBackend:
    def send(self, phone: str, text: str) -> None:
        raise NotImplementedError


class ConsoleSMSBackend(SMSBackend):
    def send(self, phone: str, text: str) -> None:
        from kuaiban.accounts.identity import mask_phone

        logger.info("SMS to %s: %s", mask_phone(phone), text)


class MemorySMSBackend(SMSBackend):
    """Keeps messages in `outbox` (tests)."""

    outbox: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        self.outbox.append((phone, text))
