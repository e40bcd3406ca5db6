"""`python -m stripe_emulator --port 12111 [--host 127.0.0.1] [--api-key KEY ...]`"""
import argparse
import sys

from . import DEFAULT_API_KEY, LOOPBACK, EmulatorServer


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m stripe_emulator",
        description="Local Stripe emulator (API, hosted Checkout, signed webhooks).")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--host", default="127.0.0.1",
                        help="must be 127.0.0.1 or localhost")
    parser.add_argument("--api-key", action="append", default=[], dest="api_keys",
                        help=f"an accepted secret key besides {DEFAULT_API_KEY} "
                             "(repeatable)")
    args = parser.parse_args(argv)
    if args.host not in LOOPBACK:
        print(f"error: the Stripe emulator only listens on 127.0.0.1; refusing to bind "
              f"to {args.host!r}.", file=sys.stderr)
        return 2
    server = EmulatorServer(port=args.port, api_keys=args.api_keys)
    try:
        server.serve_forever()
    except OSError as exc:  # typically: the port is already taken
        print(f"error: cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
