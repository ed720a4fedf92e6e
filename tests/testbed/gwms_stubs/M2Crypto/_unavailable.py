"""What the stand-in does for anything beyond digests: refuse, naming the call."""


def unavailable(name):
    def call(*args, **kwargs):
        raise NotImplementedError("M2Crypto stand-in: {} is not available in the test bed".format(name))

    return call
