"""`python -m stripe_emulator --port 12111 [--host 127.0.0.1] [--api-key KEY ...]
[--invoice-upcoming-days N] [--payment-retry-days 3,3,3] [--after-payment-retries X]`"""
import argparse
import sys

from . import DEFAULT_API_KEY, LOOPBACK, EmulatorServer


def _days(text):
    """"3,5,7" -> [3.0, 5.0, 7.0] (each more than 0)."""
    try:
        days = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of days: {text!r}") from None
    if not days or any(d <= 0 for d in days):
        raise argparse.ArgumentTypeError("each retry must come more than 0 days later")
    return days


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
    parser.add_argument("--invoice-upcoming-days", type=float, default=3,
                        help="days before a renewal that invoice.upcoming comes (0: none; "
                             "default 3)")
    parser.add_argument("--payment-retry-days", type=_days, default=[3, 3, 3],
                        help="days between automatic retries of a failed subscription "
                             "payment, comma-separated (default 3,3,3)")
    parser.add_argument("--after-payment-retries", default="canceled",
                        choices=("canceled", "unpaid", "past_due"),
                        help="the subscription once the retries are spent (default "
                             "canceled)")
    args = parser.parse_args(argv)
    if args.host not in LOOPBACK:
        print(f"error: the Stripe emulator only listens on 127.0.0.1; refusing to bind "
              f"to {args.host!r}.", file=sys.stderr)
        return 2
    server = EmulatorServer(port=args.port, api_keys=args.api_keys, config={
        "invoice_upcoming_days": args.invoice_upcoming_days,
        "payment_retry_days": args.payment_retry_days,
        "after_payment_retries": args.after_payment_retries})
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
