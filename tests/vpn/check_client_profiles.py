#!/usr/bin/env python3
"""Checks an admin's client-profile bundle (bulwarkctl pki issue) with each format's own reader
and against the gateway's proposals (what its charon is given).

  check_client_profiles.py BUNDLE_DIR EXPECT.json

EXPECT.json: {"ike": [...], "esp": [...], "gateway_id", "identity", "ca_name", "name",
"missing": "" | "windows" | "apple"}. Prints "<format> ok" per checked file; exits 1 with
every failure listed."""
import base64
import configparser
import json
import os
import plistlib
import re
import ssl
import stat
import sys
import uuid

failures = []


def check(what, cond, detail=""):
    if not cond:
        failures.append("%s%s" % (what, (": " + str(detail)) if detail else ""))
    return cond


def tokens(proposal):
    """A strongSwan proposal's algorithms by kind (the same split charon makes)."""
    out = {"enc": set(), "integ": set(), "prf": set(), "dh": set()}
    for t in proposal.split("-"):
        if t.startswith("prf"):
            out["prf"].add(t)
        elif re.match(r"(modp|ecp|x25519|x448|curve)", t):
            out["dh"].add(t)
        elif re.match(r"(sha|md5|aesxcbc|aescmac)", t):
            out["integ"].add(t)
        else:
            out["enc"].add(t)
    return out


def ike_accepted(gateway, enc, prf, dh):
    """Would charon, offering `gateway`, accept a client proposing enc/prf/dh?"""
    for p in gateway:
        t = tokens(p)
        prfs = {x[len("prf"):] for x in t["prf"]}  # prfsha384 -> sha384
        if enc in t["enc"] and (prf in prfs or (not prfs and prf in t["integ"])) and dh in t["dh"]:
            return p
    return None


def esp_accepted(gateway, enc, dh):
    for p in gateway:
        t = tokens(p)
        if enc in t["enc"] and ((dh is None and not t["dh"]) or (dh is not None and dh in t["dh"])):
            return p
    return None


def der_of(pem_path):
    with open(pem_path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


# Apple's names (Configuration Profile Reference, VPN.IKEv2) -> strongSwan's.
APPLE_ENC = {"AES-256-GCM": "aes256gcm16", "AES-128-GCM": "aes128gcm16", "ChaCha20Poly1305": "chacha20poly1305",
             "AES-256": "aes256", "AES-128": "aes128"}
APPLE_PRF = {"SHA2-256": "sha256", "SHA2-384": "sha384", "SHA2-512": "sha512", "SHA1-160": "sha1"}
APPLE_DH = {31: "x25519", 19: "ecp256", 20: "ecp384", 21: "ecp521", 14: "modp2048", 15: "modp3072", 16: "modp4096"}
# Windows' (Set-VpnConnectionIPsecConfiguration's documented values) -> strongSwan's.
WIN_ENC = {"GCMAES256": "aes256gcm16", "GCMAES128": "aes128gcm16", "AES256": "aes256", "AES128": "aes128"}
WIN_INTEG = {"SHA384": "sha384", "SHA256": "sha256", "SHA1": "sha1"}
WIN_DH = {"ECP256": "ecp256", "ECP384": "ecp384", "Group14": "modp2048", "Group2": "modp1024"}
WIN_PFS = {"ECP256": "ecp256", "ECP384": "ecp384", "PFS2048": "modp2048", "PFS2": "modp1024", "None": None}
WIN_VALUES = {
    "EncryptionMethod": {"DES", "DES3", "AES128", "AES192", "AES256", "GCMAES128", "GCMAES192", "GCMAES256"},
    "IntegrityCheckMethod": {"MD5", "SHA1", "SHA256", "SHA384"},
    "DHGroup": {"None", "Group1", "Group2", "Group14", "ECP256", "ECP384", "Group24"},
    "CipherTransformConstants": {"DES", "DES3", "AES128", "AES192", "AES256", "GCMAES128", "GCMAES192",
                                 "GCMAES256", "None"},
    "AuthenticationTransformConstants": {"MD596", "SHA196", "SHA256128", "GCMAES128", "GCMAES192", "GCMAES256",
                                         "None"},
    "PfsGroup": {"None", "PFS1", "PFS2", "PFS2048", "ECP256", "ECP384", "PFSMM", "PFS24"},
}


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def check_mobileconfig(d, e, p12, ca_der):
    path = os.path.join(d, e["name"] + ".mobileconfig")
    with open(path, "rb") as f:
        plist = plistlib.load(f)  # raises on anything that is not a well-formed plist
    check("mobileconfig is a Configuration", plist.get("PayloadType") == "Configuration")
    check("mobileconfig version 1", plist.get("PayloadVersion") == 1)
    content = plist.get("PayloadContent", [])
    by_type = {p.get("PayloadType"): p for p in content}
    check("mobileconfig has the three payloads",
          set(by_type) == {"com.apple.security.root", "com.apple.security.pkcs12", "com.apple.vpn.managed"},
          sorted(by_type))
    uuids = [plist.get("PayloadUUID")] + [p.get("PayloadUUID") for p in content]
    ids = [plist.get("PayloadIdentifier")] + [p.get("PayloadIdentifier") for p in content]
    for u in uuids:
        check("PayloadUUID is a UUID", uuid.UUID(u) is not None, u)
    check("PayloadUUIDs unique", len(set(uuids)) == len(uuids), uuids)
    check("PayloadIdentifiers unique", len(set(ids)) == len(ids), ids)
    root, pkcs12, vpn = (by_type.get(t, {}) for t in
                         ("com.apple.security.root", "com.apple.security.pkcs12", "com.apple.vpn.managed"))
    check("the root payload is the CA (DER)", root.get("PayloadContent") == ca_der)
    check("the pkcs12 payload is the .p12", pkcs12.get("PayloadContent") == p12)
    check("no password in the pkcs12 payload", "Password" not in pkcs12)
    check("VPNType IKEv2", vpn.get("VPNType") == "IKEv2")
    ike = vpn.get("IKEv2", {})
    check("IKEv2 uses the pkcs12 payload's identity", ike.get("PayloadCertificateUUID") == pkcs12.get("PayloadUUID"))
    check("certificate authentication", ike.get("AuthenticationMethod") == "Certificate")
    check("ECDSA P-256 certificate", ike.get("CertificateType") == "ECDSA256")
    check("remote identifier = the gateway id", ike.get("RemoteIdentifier") == e["gateway_id"])
    check("local identifier = the admin's identity", ike.get("LocalIdentifier") == e["identity"])
    check("issuer CN asks for the gateway's certificate", ike.get("ServerCertificateIssuerCommonName") == e["ca_name"])
    sa, child = ike.get("IKESecurityAssociationParameters", {}), ike.get("ChildSecurityAssociationParameters", {})
    enc, prf, dh = APPLE_ENC.get(sa.get("EncryptionAlgorithm")), APPLE_PRF.get(sa.get("IntegrityAlgorithm")), \
        APPLE_DH.get(sa.get("DiffieHellmanGroup"))
    check("Apple's IKE algorithms are one of the gateway's proposals", ike_accepted(e["ike"], enc, prf, dh),
          (sa, e["ike"]))
    cenc = APPLE_ENC.get(child.get("EncryptionAlgorithm"))
    cdh = APPLE_DH.get(child.get("DiffieHellmanGroup")) if ike.get("EnablePFS") == 1 else None
    check("Apple's ESP algorithms are one of the gateway's proposals", esp_accepted(e["esp"], cenc, cdh),
          (child, ike.get("EnablePFS"), e["esp"]))
    check("mobileconfig holds the PKCS#12: 0600", mode_of(path) == 0o600, oct(mode_of(path)))


def check_sswan(d, e, p12, ca_der):
    path = os.path.join(d, e["name"] + ".sswan")
    with open(path) as f:
        j = json.load(f)
    for key in ("uuid", "name", "type", "remote", "local", "ike-proposal", "esp-proposal"):
        check(".sswan has " + key, key in j)
    check(".sswan uuid", uuid.UUID(j.get("uuid", "")) is not None)
    check(".sswan type ikev2-cert", j.get("type") == "ikev2-cert", j.get("type"))
    remote, local = j.get("remote", {}), j.get("local", {})
    check(".sswan remote.id = the gateway id", remote.get("id") == e["gateway_id"])
    check(".sswan remote.addr", bool(remote.get("addr")))
    check(".sswan remote.cert = the CA", base64.b64decode(remote.get("cert", "")) == ca_der)
    check(".sswan local.p12 = the .p12", base64.b64decode(local.get("p12", "")) == p12)
    check(".sswan local.id = the identity", local.get("id") == e["identity"])
    check(".sswan IKE proposal is the gateway's", j.get("ike-proposal") in e["ike"], j.get("ike-proposal"))
    check(".sswan ESP proposal is the gateway's", j.get("esp-proposal") in e["esp"], j.get("esp-proposal"))
    check(".sswan has no password field", "password" not in json.dumps(j).lower())


def check_nmconnection(d, e):
    path = os.path.join(d, e["name"] + ".nmconnection")
    cp = configparser.ConfigParser(interpolation=None, strict=True)
    with open(path) as f:
        cp.read_file(f)
    check("keyfile [connection] type=vpn", cp.get("connection", "type", fallback="") == "vpn")
    check("keyfile uuid", uuid.UUID(cp.get("connection", "uuid", fallback="")) is not None)
    check("keyfile id", cp.get("connection", "id", fallback="") == "bulwark-" + e["name"])
    v = cp["vpn"] if cp.has_section("vpn") else {}
    check("service-type strongswan", v.get("service-type") == "org.freedesktop.NetworkManager.strongswan")
    check("method key", v.get("method") == "key")
    for key in ("certificate", "usercert", "userkey"):
        check("keyfile %s is an absolute path" % key, os.path.isabs(v.get(key, "")), v.get(key))
    check("keyfile remote-identity", v.get("remote-identity") == e["gateway_id"])
    check("keyfile local-identity", v.get("local-identity") == e["identity"])
    check("keyfile asks for a virtual IP", v.get("virtual") == "yes")
    check("keyfile proposals on", v.get("proposal") == "yes")
    check("keyfile IKE proposals = the gateway's", v.get("ike", "").split(";") == e["ike"], v.get("ike"))
    check("keyfile ESP proposals = the gateway's", v.get("esp", "").split(";") == e["esp"], v.get("esp"))
    check("keyfile 0600 (NetworkManager ignores others)", mode_of(path) == 0o600, oct(mode_of(path)))


def ps_params(script, cmdlet):
    """The -Name Value pairs of the (backtick-continued) command line starting with cmdlet."""
    joined = re.sub(r"`\n\s*", " ", script)
    line = next((l for l in joined.splitlines() if l.strip().startswith(cmdlet + " ")), None)
    if line is None:
        return None
    params = {}
    for m in re.finditer(r"-(\w+)(?:\s+('(?:[^']|'')*'|\([^)]*\)|[^\s-][^\s]*))?", line[len(cmdlet):]):
        params[m.group(1)] = m.group(2)
    return params


def check_ps1(d, e):
    path = os.path.join(d, e["name"] + ".ps1")
    with open(path) as f:
        s = f.read()
    code = [l for l in s.splitlines() if l.strip() and not l.lstrip().startswith("#")]
    check("ps1 starts with param() (after comments/attributes)",
          code and (code[0].startswith("[CmdletBinding()]") and code[1].startswith("param(")), code[:2])
    check("ps1 requires elevation", "#Requires -RunAsAdministrator" in s)
    check("ps1 stops on errors", "$ErrorActionPreference = 'Stop'" in s)
    stripped = re.sub(r"'(?:[^']|'')*'", "''", re.sub(r"(?m)^\s*#.*$", "", s))
    for o, c in ("()", "{}", "[]"):
        check("ps1 balanced %s%s" % (o, c), stripped.count(o) == stripped.count(c))
    check("ps1 balanced quotes", stripped.count('"') % 2 == 0)
    imp = ps_params(s, "Import-Certificate")
    check("ps1 imports the CA into LocalMachine\\Root", imp and "LocalMachine\\Root" in (imp.get("CertStoreLocation") or ""), imp)
    pfx = ps_params(s, "Import-PfxCertificate")
    check("ps1 imports the .p12 into LocalMachine\\My with an asked password",
          pfx and "LocalMachine\\My" in (pfx.get("CertStoreLocation") or "") and pfx.get("Password") == "$Password"
          and e["name"] + ".p12" in (pfx.get("FilePath") or ""), pfx)
    check("ps1 asks for the password", "Read-Host -AsSecureString" in s)
    add = ps_params(s, "Add-VpnConnection")
    check("Add-VpnConnection IKEv2 with the machine certificate",
          add and add.get("TunnelType") == "Ikev2" and add.get("AuthenticationMethod") == "MachineCertificate"
          and add.get("ServerAddress"), add)
    cfg = ps_params(s, "Set-VpnConnectionIPsecConfiguration")
    if not check("Set-VpnConnectionIPsecConfiguration present", cfg is not None):
        return
    for k, allowed in WIN_VALUES.items():
        check("Windows accepts %s %s" % (k, cfg.get(k)), cfg.get(k) in allowed)
    enc, integ, dh = WIN_ENC.get(cfg.get("EncryptionMethod")), WIN_INTEG.get(cfg.get("IntegrityCheckMethod")), \
        WIN_DH.get(cfg.get("DHGroup"))
    check("Windows' IKE algorithms are one of the gateway's proposals", ike_accepted(e["ike"], enc, integ, dh),
          (cfg, e["ike"]))
    cenc = WIN_ENC.get(cfg.get("CipherTransformConstants"))
    check("Windows' ESP algorithms are one of the gateway's proposals",
          esp_accepted(e["esp"], cenc, WIN_PFS.get(cfg.get("PfsGroup"), "?")), (cfg, e["esp"]))
    if cenc and "gcm" in cenc:
        check("GCM: the authentication transform is GCM too",
              cfg.get("AuthenticationTransformConstants") == cfg.get("CipherTransformConstants"), cfg)


def check_swanctl(d, e):
    with open(os.path.join(d, e["name"] + ".swanctl.conf")) as f:
        s = f.read()
    m = re.search(r"(?m)^\s*proposals = (.*)$", s)
    check("swanctl IKE proposals = the gateway's", m and m.group(1).split(", ") == e["ike"], m and m.group(1))
    m = re.search(r"(?m)^\s*esp_proposals = (.*)$", s)
    check("swanctl ESP proposals = the gateway's", m and m.group(1).split(", ") == e["esp"], m and m.group(1))
    check("swanctl local id", 'id = "%s"' % e["identity"] in s)
    check("swanctl balanced braces", s.count("{") == s.count("}"))


def main():
    d, expect = sys.argv[1], json.load(open(sys.argv[2]))
    with open(os.path.join(d, expect["name"] + ".p12"), "rb") as f:
        p12 = f.read()
    ca_der = der_of(os.path.join(d, "ca.crt"))
    checks = [("swanctl", lambda: check_swanctl(d, expect)),
              ("mobileconfig", lambda: check_mobileconfig(d, expect, p12, ca_der)),
              ("sswan", lambda: check_sswan(d, expect, p12, ca_der)),
              ("nmconnection", lambda: check_nmconnection(d, expect)),
              ("ps1", lambda: check_ps1(d, expect))]
    missing = {"windows": "ps1", "apple": "mobileconfig"}.get(expect.get("missing", ""))
    with open(os.path.join(d, expect["name"] + ".README.txt")) as f:
        readme = f.read()
    for fmt, fn in checks:
        path = os.path.join(d, expect["name"] + "." + ("swanctl.conf" if fmt == "swanctl" else fmt))
        if fmt == missing:
            check(fmt + " left out", not os.path.exists(path))
            check("README says why " + fmt + " is missing", "(no " in readme)
            print(fmt, "left out")
            continue
        before = len(failures)
        try:
            fn()
        except Exception as ex:  # a reader that refuses the file is a failure of that format
            failures.append("%s: %s: %s" % (fmt, type(ex).__name__, ex))
        if len(failures) == before:
            print(fmt, "ok")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
