"""Secrets the application must read back (a webhook's signing secret, a TOTP seed), stored encrypted.

Fernet (AES-128-CBC with HMAC-SHA256, from ``cryptography``), with the key derived from the
deployment's key material and the box's purpose: one SECRET_KEY gives every purpose its own key,
so a ciphertext of one kind cannot be decrypted as another. Changing the key material makes the
stored ciphertexts unreadable, so rotate it only together with re-encrypting them.
"""
from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet


class SecretBox:
    def __init__(self, purpose: str) -> None:
        self.purpose = purpose
        self._fernet: Fernet | None = None

    def configure(self, key_material: str) -> None:
        digest = hashlib.sha256(f"{self.purpose}:{key_material}".encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def encrypt(self, plaintext: str) -> str:
        assert self._fernet is not None, f"the {self.purpose} box was not configured"
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        assert self._fernet is not None, f"the {self.purpose} box was not configured"
        return self._fernet.decrypt(ciphertext.encode()).decode()
