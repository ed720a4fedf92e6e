"""A minimal stand-in for M2Crypto (not installable in the test bed), for GlideinWMS's creation code.

GlideinWMS's staging code imports M2Crypto for file signatures (``EVP.MessageDigest``) and, at import
time only, for keys and certificates. The digest is real (hashlib); anything else raises, so a test
that would need real cryptography fails loudly instead of silently getting a fake result.
"""
