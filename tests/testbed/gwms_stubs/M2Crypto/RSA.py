"""Names GlideinWMS's pubCrypto reads at import time; key operations are not available."""

from ._unavailable import unavailable

no_padding = 3
pkcs1_padding = 1
sslv23_padding = 2
pkcs1_oaep_padding = 4


class RSAError(Exception):
    pass


gen_key = unavailable("RSA.gen_key")
load_key = unavailable("RSA.load_key")
load_key_bio = unavailable("RSA.load_key_bio")
load_pub_key = unavailable("RSA.load_pub_key")
load_pub_key_bio = unavailable("RSA.load_pub_key_bio")
