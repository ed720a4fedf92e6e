"""``M2Crypto.EVP.MessageDigest`` on hashlib: the one part the staging code calls (file signatures)."""

import hashlib


class MessageDigest:
    def __init__(self, algo):
        self._hash = hashlib.new(algo)

    def update(self, data):
        self._hash.update(data)
        return 1

    def final(self):
        return self._hash.digest()
