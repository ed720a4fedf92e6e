"""Build hook: put the HTCondor snippets and the worker-node launchers into the wheel as package data.

The files stay where admins and tests know them (``condor_config.d/``, ``glidein_scripts/``); a build
copies them to ``glidein_singularity/share/`` so an installed package needs no source checkout
(``glidein_singularity.resources`` finds them in either place). Everything else is in setup.cfg.
"""

import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

#: (directory of the source tree, its name under glidein_singularity/share/)
SHARED = (("condor_config.d", "condor_config.d"), ("glidein_scripts", "glidein_scripts"))
HERE = os.path.dirname(os.path.abspath(__file__))


class BuildWithShare(build_py):
    """``build_py`` that also copies ``SHARED`` into the built package, keeping the launchers' modes."""

    def run(self):
        super().run()
        for source, name in SHARED:
            target = os.path.join(self.build_lib, "glidein_singularity", "share", name)
            os.makedirs(target, exist_ok=True)
            for entry in sorted(os.listdir(os.path.join(HERE, source))):
                path = os.path.join(HERE, source, entry)
                if os.path.isfile(path) and not entry.startswith("."):
                    shutil.copy2(path, os.path.join(target, entry))


setup(cmdclass={"build_py": BuildWithShare})
