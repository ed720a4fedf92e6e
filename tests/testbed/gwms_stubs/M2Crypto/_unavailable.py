"""What the stand-in does for anything beyond digests: refuse, naming the call."""


def unavailable(name):
    def call(*args, **kwargs):
        msg = "M2Crypto stand-in: {} is not available in the test bed".format(name)
        raise NotImplementedError(msg)

    return call
