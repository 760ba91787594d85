#!/usr/bin/env python3
"""Drives the rtrsh Falcon API emulator with a real third-party client: CrowdStrike's FalconPy.

Usage: falconpy_smoke.py BASE_URL [--skip-world]

Authenticates, finds DESKTOP-01, opens an RTR session, runs `ls` and polls it to completion,
reads a 1 MiB file through `cat` following sequence_id chunks (reference section 8.4; start the
emulator with a small --chunk-size), and deletes the session. Exits non-zero with a message on
the first failure.

--skip-world skips what needs the emulator's simulated world (non-empty `ls` output and the
chunked `cat`); drop it once the world has landed.
"""

import sys
import time

from falconpy import Hosts, OAuth2, RealTimeResponse

CLIENT_ID = "emulator-client"
CLIENT_SECRET = "emulator-secret"
BIG_FILE = "C:\\Logs\\big-1mb.log"
BIG_SIZE = 1048576
DEADLINE = 30.0


class SmokeFailure(Exception):
    pass


def check(cond, message):
    if not cond:
        raise SmokeFailure(message)


def ok(reply, status, what):
    """Returns the body of a FalconPy reply dict after checking its status."""
    got = reply.get("status_code")
    check(got == status, f"{what}: expected HTTP {status}, got {got}: {reply.get('body')}")
    return reply.get("body") or {}


def pin(service, base_url, what):
    # FalconPy switches base_url after a token when X-Cs-Region names a known cloud; against a
    # loopback emulator that would send the next request to the real cloud. Never let it.
    check(service.base_url == base_url,
          f"{what}: FalconPy moved base_url to {service.base_url}; refusing to continue")


def find_host(hosts, hostname):
    body = ok(hosts.query_devices_by_filter(filter=f"hostname:'{hostname}'"), 200, "query devices")
    aids = body.get("resources") or []
    check(aids, f"no devices returned for {hostname}")
    # Resolve through the details so the check holds whether or not the filter narrows.
    details = ok(hosts.get_device_details(ids=aids[:100]), 200, "device details")
    for d in details.get("resources") or []:
        if d.get("hostname") == hostname:
            return d["device_id"]
    raise SmokeFailure(f"{hostname} not among the devices returned")


def poll(rtr, cloud_request_id, sequence_id=0):
    start = time.monotonic()
    while True:
        body = ok(rtr.check_command_status(cloud_request_id=cloud_request_id, sequence_id=sequence_id),
                  200, "check command status")
        res = (body.get("resources") or [{}])[0]
        if res.get("complete") or res.get("stdout") or res.get("stderr"):
            return res
        check(time.monotonic() - start < DEADLINE, f"command {cloud_request_id} never completed")
        time.sleep(0.05)


def read_chunked(rtr, cloud_request_id):
    """The tolerant sequence_id loop of the API reference, section 8.4."""
    start = time.monotonic()
    out = []
    nxt, seen_complete, delivered = 0, False, set()
    while True:
        check(time.monotonic() - start < DEADLINE * 4, "reading chunks took too long")
        body = ok(rtr.check_command_status(cloud_request_id=cloud_request_id, sequence_id=nxt),
                  200, f"status sequence_id={nxt}")
        r = (body.get("resources") or [{}])[0]
        got = bool(r.get("stdout") or r.get("stderr"))
        if got and nxt not in delivered:
            out.append(r.get("stdout") or "")
            check(not r.get("stderr"), f"cat failed: {r.get('stderr')}")
            delivered.add(nxt)
        rs = r.get("sequence_id") or 0
        if r.get("complete"):
            seen_complete = True
            if rs > nxt and got:
                nxt = rs
                continue
            break
        if got:
            nxt = max(rs, nxt + 1)
        elif seen_complete:
            break
        else:
            time.sleep(0.05)
    return "".join(out), len(delivered)


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    skip_world = "--skip-world" in argv
    if len(args) != 1:
        raise SystemExit(__doc__)
    base_url = args[0].rstrip("/")

    auth = OAuth2(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, base_url=base_url)
    token = auth.token()
    ok(token, 201, "token")
    pin(auth, base_url, "token")
    check(auth.token_valid, "FalconPy does not consider its token valid")
    print(f"token ok (expires_in {token['body'].get('expires_in')})")

    hosts = Hosts(auth_object=auth)
    rtr = RealTimeResponse(auth_object=auth)
    pin(hosts, base_url, "hosts")
    pin(rtr, base_url, "rtr")
    aid = find_host(hosts, "DESKTOP-01")
    print(f"DESKTOP-01 is {aid}")

    body = ok(rtr.init_session(device_id=aid, origin="falconpy-smoke", queue_offline=False),
              201, "init session")
    sid = body["resources"][0]["session_id"]
    print(f"session {sid}, pwd {body['resources'][0].get('pwd')!r}")
    try:
        body = ok(rtr.execute_command(base_command="ls", command_string="ls", session_id=sid,
                                      device_id=aid, id=0, persist=False),
                  201, "execute ls")
        crid = body["resources"][0]["cloud_request_id"]
        res = poll(rtr, crid)
        check(res.get("complete") is True, f"ls did not complete: {res}")
        if not skip_world:
            check(res.get("stdout"), "ls printed nothing")
        print(f"ls complete, {len(res.get('stdout') or '')} bytes of output")

        if not skip_world:
            body = ok(rtr.execute_command(base_command="cat", command_string=f"cat {BIG_FILE}",
                                          session_id=sid, device_id=aid, id=0, persist=False),
                      201, "execute cat")
            crid = body["resources"][0]["cloud_request_id"]
            poll(rtr, crid)
            text, chunks = read_chunked(rtr, crid)
            size = len(text.encode("utf-8"))
            check(size == BIG_SIZE, f"cat {BIG_FILE}: reassembled {size} bytes, expected {BIG_SIZE}")
            check(chunks > 1, f"cat {BIG_FILE} came in {chunks} chunk(s); start the emulator "
                              "with a small --chunk-size")
            print(f"cat reassembled {size} bytes from {chunks} chunks")
        else:
            print("skipping the chunked cat (--skip-world)")
    finally:
        reply = rtr.delete_session(session_id=sid)
    # FalconPy hands back the raw (empty) body of a 204 rather than a reply dict.
    deleted = reply == b"" or (isinstance(reply, dict) and reply.get("status_code") == 204)
    check(deleted, f"delete session: {reply!r}")
    body = rtr.pulse_session(device_id=aid, origin="falconpy-smoke", queue_offline=False)
    check(body.get("status_code") == 400, f"pulse after delete should fail: {body}")
    codes = [e.get("code") for e in (body.get("body") or {}).get("errors") or []]
    check(40002 in codes, f"pulse after delete: expected error 40002, got {codes}")
    print("session deleted")
    print("falconpy smoke: OK")


if __name__ == "__main__":
    try:
        main(sys.argv)
    except SmokeFailure as e:
        print(f"falconpy smoke FAILED: {e}", file=sys.stderr)
        sys.exit(1)
