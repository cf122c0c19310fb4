"""A worker process for the one-token-request tests and benchmark: `threads` threads that each
load one stored account as a task does and list its locks, `rounds` times, starting together at
`start_at` (epoch seconds, so that several processes start together; without it the worker
prints "ready" once set up and reads "<start_at> [<until>]" from its input), and on until `until`. Prints one JSON line:
{"calls": n, "errors": {"<error>": n}}.

    DJANGO_SETTINGS_MODULE=nowistay.settings DATABASE_URL=... python -m tests.vendors.token_workers \
        --account 7 --threads 8 --rounds 1 --start-at 1765000000.5 [--pause 0.05]
"""

import argparse
import json
import sys
import threading
import time
from collections import Counter


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--account", type=int, required=True)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--start-at", type=float, default=0.0)
    parser.add_argument("--pause", type=float, default=0.0)  # between one thread's rounds
    parser.add_argument("--until", type=float, default=0.0)  # epoch seconds: go on past `rounds` until then
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    from locks.models import ProviderAccount
    from locks.services.vendor_accounts import provider_for_account

    if not args.start_at:  # told when to start once set up: "ready" out, the start time in
        print("ready", flush=True)
        start_at, *until = sys.stdin.readline().split()
        args.start_at, args.until = float(start_at), float(until[0]) if until else args.until
    calls, errors, mutex = [0], Counter(), threading.Lock()

    def work() -> None:
        try:
            time.sleep(max(0.0, args.start_at - time.time()))
            done = 0
            while done < args.rounds or time.time() < args.until:
                done += 1
                try:
                    provider_for_account(ProviderAccount.objects.get(pk=args.account)).list_locks()
                    with mutex:
                        calls[0] += 1
                except Exception as error:
                    with mutex:
                        errors[f"{type(error).__name__}: {error}"] += 1
                time.sleep(args.pause)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"calls": calls[0], "errors": dict(errors)}), flush=True)


if __name__ == "__main__":
    main()
