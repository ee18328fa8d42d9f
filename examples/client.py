#!/usr/bin/env python3
"""Create an infrastructure, wait until it is configured, show it, destroy it.

Uses only Python's standard library, like every IM XML-RPC client:
    python3 examples/client.py [URL] [RADL] [AUTH]
defaults: http://127.0.0.1:8899/RPC2 examples/simple.radl examples/auth.dat
"""
import os
import sys
import time
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))


def read_auth(path):
    """The auth file: `key = value` pairs separated by `;`, one credential per line."""
    items = []
    with open(path) as auth_file:
        for line in auth_file:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            item = {}
            for pair in line.split(";"):
                if "=" in pair:
                    key, value = pair.split("=", 1)
                    item[key.strip()] = value.strip().strip("'\"")
            items.append(item)
    return items


def check(result):
    success, value = result
    if not success:
        sys.exit("IM error: %s" % value)
    return value


def main():
    url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8899/RPC2"
    radl_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "simple.radl")
    auth_path = sys.argv[3] if len(sys.argv) > 3 else os.path.join(HERE, "auth.dat")
    server = xmlrpc.client.ServerProxy(url, allow_none=True)
    auth = read_auth(auth_path)
    with open(radl_path) as radl_file:
        radl = radl_file.read()

    print("IM version:", check(server.GetVersion()))
    inf_id = check(server.CreateInfrastructure(radl, auth, True))
    print("created infrastructure", inf_id)

    deadline = time.time() + 60
    while True:
        state = check(server.GetInfrastructureState(inf_id, auth))
        print("state:", state["state"], state["vm_states"])
        if state["state"] == "configured":
            break
        if state["state"] in ("failed", "unconfigured", "unknown") or time.time() > deadline:
            sys.exit("the infrastructure did not reach 'configured'")
        time.sleep(1)

    for vm_id in check(server.GetInfrastructureInfo(inf_id, auth)):
        print("VM %s ip: %s" % (vm_id, check(server.GetVMProperty(inf_id, vm_id, "net_interface.0.ip", auth))))
    check(server.DestroyInfrastructure(inf_id, auth))
    print("destroyed", inf_id)


if __name__ == "__main__":
    main()
