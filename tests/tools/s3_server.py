#!/usr/bin/env python3
"""A real S3-compatible server for the off-site backup tests: moto's server (PyPI
`moto[server]`), on loopback, in a subprocess.

It binds a free port on 127.0.0.1, writes the port to --port-file (tmp + rename) once it
listens, and serves until SIGTERM or SIGINT. State is in memory: every test starts empty.
"""

import argparse
import os
import signal
import sys
import threading

from moto.server import ThreadedMotoServer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(port))
    os.rename(tmp, args.port_file)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
