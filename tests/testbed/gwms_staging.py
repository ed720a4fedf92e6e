"""Build a factory and a frontend staging area with GlideinWMS's own creation code (run in the bed).

Usage (as root, by the bed's python3)::

    python3 gwms_staging.py GWMS_PARENT STUBS FACTORY_XML FRONTEND_XML PARAMS_JSON

``GWMS_PARENT`` holds the ``glideinwms`` package (GlideinWMS's source, never copied into our
repository), ``STUBS`` the M2Crypto stand-in. ``FACTORY_XML`` and ``FRONTEND_XML`` are complete
``glideinWMS.xml`` and ``frontend.xml`` files (tests.testbed.real_glidein writes them around what
``glidein-singularity render`` produced). GlideinWMS's factory code (``factoryXmlConfig`` and
``cgWParamDict.glideinDicts``: attributes, files, condor_vars, constants, the HTCondor tarball made
from the bed's own ``/usr``) writes the factory's staging area, its frontend code (``cvWParams`` and
``cvWParamDict.frontendDicts``) the frontend's, where the XML files say. What glidein_startup.sh needs
to find them (signatures and description file names) and the frontend's parameters (``PARAMS_JSON``, a
list of [name, value]) escaped as GlideinWMS's factory passes them are printed as one JSON object.

This module runs with GlideinWMS's dependencies only (no glidein_singularity import).
"""

import glob
import hashlib
import io
import json
import os
import sys
import tarfile


def _sha1(path):
    with open(path, "rb") as handle:
        return hashlib.sha1(handle.read()).hexdigest()


def _only(pattern):
    found = sorted(glob.glob(pattern))
    if len(found) != 1:
        msg = "expected one file matching {}, found {}".format(pattern, found)
        raise SystemExit(msg)
    return found[0]


def write_startup(directory):
    """The pilot's executable as the factory submits it: glidein_startup.sh, a ``#EOF`` line, then a
    tar.gz of GlideinWMS's ``STARTUP_FILE_PAYLOAD`` (the script extracts and sources them)."""
    from glideinwms.creation.lib import cgWConsts

    payload = io.BytesIO()
    with tarfile.open(fileobj=payload, mode="w:gz") as archive:
        for name in cgWConsts.STARTUP_FILE_PAYLOAD:
            archive.add(os.path.join(cgWConsts.WEB_BASE_DIR, name), arcname=name)
    with open(os.path.join(cgWConsts.WEB_BASE_DIR, cgWConsts.STARTUP_FILE), "rb") as handle:
        script = handle.read()
    path = os.path.join(directory, cgWConsts.STARTUP_FILE)
    with open(path, "wb") as handle:
        handle.write(script.rstrip(b"\n") + b"\n#EOF\n" + payload.getvalue())
    os.chmod(path, 0o755)
    return path


def build_factory(xml_path):
    from glideinwms.creation.lib import cgWConsts, cgWParamDict, factoryXmlConfig

    conf = factoryXmlConfig.parse(xml_path)
    dicts = cgWParamDict.glideinDicts(conf)
    dicts.populate()
    dicts.create_dirs()
    # The factory's own RSA key decrypts frontend requests, which no factory daemon reads here: an
    # existing key file is kept as is, so the stand-in never has to make one.
    open(os.path.join(conf.get_submit_dir(), cgWConsts.RSA_KEY), "a").close()
    dicts.save()
    stage = conf.get_stage_dir()
    entries = {}
    for entry in conf.get_entries():
        name = entry.getName()
        entry_dir = os.path.join(stage, "entry_" + name)
        entries[name] = {
            "sign": _sha1(_only(os.path.join(entry_dir, "signature.*.sha1"))),
            "descript": os.path.basename(_only(os.path.join(entry_dir, "description.*.cfg"))),
        }
    signature = _only(os.path.join(stage, "signature.*.sha1"))
    return {
        "stage": stage,
        "startup": write_startup(conf.get_submit_dir()),
        "sign": _sha1(signature),
        "descript": os.path.basename(_only(os.path.join(stage, "description.*.cfg"))),
        "entries": entries,
    }


def build_frontend(xml_path):
    from glideinwms.creation.lib import cvWParamDict, cvWParams
    from glideinwms.lib import condorExe

    condorExe.set_path("/usr/bin", "/usr/sbin")  # the bed's HTCondor (the frontend's client config)

    src_dir = os.path.join(os.path.dirname(os.path.abspath(cvWParams.__file__)), "..", "web_base")
    params = cvWParams.VOFrontendParams("", src_dir, ["create_frontend", xml_path])
    dicts = cvWParamDict.frontendDicts(params)
    dicts.populate()
    dicts.create_dirs()
    dicts.save()
    stage = params.stage_dir
    groups = {}
    for group in params.groups:
        group_dir = os.path.join(stage, "group_" + group)
        groups[group] = {
            "sign": _sha1(_only(os.path.join(group_dir, "signature.*.sha1"))),
            "descript": os.path.basename(_only(os.path.join(group_dir, "description.*.cfg"))),
        }
    return {
        "stage": stage,
        "sign": _sha1(_only(os.path.join(stage, "signature.*.sha1"))),
        "descript": os.path.basename(_only(os.path.join(stage, "description.*.cfg"))),
        "groups": groups,
    }


def escaped_params(params):
    """-param_NAME VALUE arguments, escaped by GlideinWMS's factory code as it submits a glidein."""
    from glideinwms.factory.glideFactoryLib import escapeParam

    out = []
    for name, value in params:
        out += ["-param_" + name, escapeParam(value)]
    return out


def main(argv):
    gwms_parent, stubs, factory_xml, frontend_xml, params_json = argv[1:6]
    sys.path[:0] = [gwms_parent, stubs]
    result = {"factory": build_factory(factory_xml), "frontend": build_frontend(frontend_xml)}
    result["params"] = escaped_params(json.loads(params_json))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
