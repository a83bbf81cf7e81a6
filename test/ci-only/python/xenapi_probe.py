"""Drives the official XenAPI Python package (from PyPI, unmodified) against a XAPI endpoint and prints one JSON
object on stdout describing what the package saw. test/ci-only/xenapi-client.test.ts runs it against the embedded
simulator and asserts on the JSON; this script asserts nothing itself.

Usage: python xenapi_probe.py '<json config>'
  config: {"master_url", "slave_url" (or null), "username", "password", "wrong_password"}
Trust: the caller sets SSL_CERT_FILE to the simulator's CA. XenAPI.Session has no CA parameter of its own (only
`ignore_ssl`, which we never use); without a `transport`, xmlrpc.client uses http.client's default HTTPS context,
which loads the default verify paths and therefore honours SSL_CERT_FILE. One probe deliberately uses a context
that trusts nothing, to show that verification really happens.
"""

import importlib.metadata
import json
import ssl
import sys
import time
import xmlrpc.client

import XenAPI

ORIGINATOR = "xen-otel-agent-ci"


def outcome(fn):
    """Runs fn and describes how it ended: value, XenAPI.Failure (with details) or another exception."""
    started = time.monotonic()
    try:
        value = fn()
        result = {"raised": None, "value": value}
    except XenAPI.Failure as e:
        result = {"raised": "XenAPI.Failure", "details": list(e.details)}
    except Exception as e:  # noqa: BLE001 - the type is the observation
        result = {"raised": type(e).__name__, "message": str(e)}
    result["elapsed_ms"] = round((time.monotonic() - started) * 1000)
    return result


def type_map(record, fields):
    return {f: type(record[f]).__name__ if f in record else None for f in fields}


def summarise_vms(records):
    vms = []
    for ref, r in records.items():
        vms.append({
            "ref": ref,
            "uuid": r.get("uuid"),
            "name_label": r.get("name_label"),
            "power_state": r.get("power_state"),
            "is_a_template": r.get("is_a_template"),
            "is_a_snapshot": r.get("is_a_snapshot"),
            "is_control_domain": r.get("is_control_domain"),
            "resident_on": r.get("resident_on"),
            "domid": r.get("domid"),
            "memory_static_max": r.get("memory_static_max"),
            "VCPUs_max": r.get("VCPUs_max"),
            "types": type_map(r, [
                "uuid", "name_label", "power_state", "domid", "memory_static_max", "memory_dynamic_max",
                "VCPUs_max", "is_a_template", "is_control_domain", "resident_on", "other_config", "VBDs", "VIFs",
            ]),
        })
    return vms


def summarise_hosts(records):
    hosts = []
    for ref, r in records.items():
        software_version = r.get("software_version") or {}
        hosts.append({
            "ref": ref,
            "uuid": r.get("uuid"),
            "name_label": r.get("name_label"),
            "address": r.get("address"),
            "enabled": r.get("enabled"),
            "API_version_major": r.get("API_version_major"),
            "resident_VMs": len(r.get("resident_VMs") or []),
            "xapi_build": software_version.get("xapi_build"),
            "types": type_map(r, [
                "uuid", "name_label", "address", "enabled", "API_version_major", "API_version_minor",
                "memory_overhead", "software_version", "resident_VMs", "cpu_info",
            ]),
        })
    return hosts


def summarise_pools(records):
    return [{
        "ref": ref,
        "uuid": r.get("uuid"),
        "name_label": r.get("name_label"),
        "master": r.get("master"),
        "types": type_map(r, ["uuid", "name_label", "master", "other_config", "ha_enabled"]),
    } for ref, r in records.items()]


def main():
    cfg = json.loads(sys.argv[1])
    out = {"xenapi_version": importlib.metadata.version("XenAPI"), "python": sys.version.split()[0]}

    # A context that trusts no CA at all: the login must fail certificate verification.
    untrusting = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    untrusted = XenAPI.Session(cfg["master_url"], transport=xmlrpc.client.SafeTransport(context=untrusting))
    out["untrusted_login"] = outcome(
        lambda: untrusted.login_with_password(cfg["username"], cfg["password"], "1.0", ORIGINATOR))

    session = XenAPI.Session(cfg["master_url"])
    out["login"] = outcome(lambda: session.login_with_password(cfg["username"], cfg["password"], "1.0", ORIGINATOR))
    if out["login"]["raised"] is not None:
        print(json.dumps(out, default=str))
        return
    handle = session.handle
    # Never print the session reference itself: only its shape.
    out["handle_is_opaque_ref"] = isinstance(handle, str) and handle.startswith("OpaqueRef:")

    x = session.xenapi
    vms = outcome(lambda: summarise_vms(x.VM.get_all_records()))
    out["vms"] = vms
    out["hosts"] = outcome(lambda: summarise_hosts(x.host.get_all_records()))
    out["pools"] = outcome(lambda: summarise_pools(x.pool.get_all_records()))

    # event.from: a first call with the empty token returns the current objects and a token; a second call with
    # that token and a short timeout returns what changed since (possibly nothing) and a token not smaller.
    def event_from(token, timeout):
        batch = getattr(x.event, "from")(["vm", "host"], token, timeout)
        classes = sorted({e.get("class") for e in batch.get("events", [])})
        operations = sorted({e.get("operation") for e in batch.get("events", [])})
        return {
            "token": batch.get("token"),
            "events": len(batch.get("events", [])),
            "classes": classes,
            "operations": operations,
            "keys": sorted(batch.keys()),
        }

    first = outcome(lambda: event_from("", 5.0))
    out["event_from_first"] = first
    if first["raised"] is None:
        out["event_from_next"] = outcome(lambda: event_from(first["value"]["token"], 1.0))
    out["event_from_bad_token"] = outcome(lambda: event_from("not-a-token", 1.0))

    out["logout"] = outcome(lambda: session.xenapi.session.logout())
    # After logout the old reference is dead: ask with it directly (XenAPI.Session would hide SESSION_INVALID
    # behind its re-login logic).
    raw = xmlrpc.client.ServerProxy(cfg["master_url"], allow_none=True)
    out["call_after_logout"] = outcome(lambda: raw.VM.get_all(handle))
    if out["call_after_logout"]["raised"] is None:
        reply = out["call_after_logout"]["value"]
        out["call_after_logout"]["value"] = {
            "Status": reply.get("Status"),
            "ErrorDescription0": (reply.get("ErrorDescription") or [None])[0],
            "handle_echoed": (reply.get("ErrorDescription") or [None, None])[1:2] == [handle],
        }

    if cfg.get("slave_url"):
        slave = XenAPI.Session(cfg["slave_url"])
        out["slave_login"] = outcome(
            lambda: slave.login_with_password(cfg["username"], cfg["password"], "1.0", ORIGINATOR))

    wrong = XenAPI.Session(cfg["master_url"])
    out["wrong_password"] = outcome(
        lambda: wrong.login_with_password(cfg["username"], cfg["wrong_password"], "1.0", ORIGINATOR))

    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
