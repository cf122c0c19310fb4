"""Run the sandbox lock clouds as their own process:

    python -m sandbox [--port 8100] [--seed [--extra-locks N]]

It has its own settings (sandbox.settings), URLconf and SQLite database (var/sandbox.sqlite3),
so a vendor call the web app makes while serving a request never waits on the web app itself.
"""

import argparse
import os


def main() -> None:
    parser = argparse.ArgumentParser(description="Nowistay sandbox lock clouds")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--seed", action="store_true", help="create the demo accounts and locks")
    parser.add_argument(
        "--extra-locks", type=int, default=0, metavar="N",
        help="with --seed: N more eligible locks in each demo account (e.g. for benchmarks/chaos.py)",
    )
    args = parser.parse_args()
    os.environ["DJANGO_SETTINGS_MODULE"] = "sandbox.settings"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    if args.seed:
        from sandbox.seed import seed_sandbox

        for account in seed_sandbox(extra_locks=args.extra_locks):
            print(f"sandbox {account.get_vendor_display()}: {account.login} / {account.password}")
        if args.extra_locks:
            print(f"sandbox: {args.extra_locks} extra eligible locks in each demo account")
    print(f"Sandbox lock clouds on http://{args.host}:{args.port}/ (door pages there)")
    call_command("runserver", f"{args.host}:{args.port}", use_reloader=False, use_threading=True)


if __name__ == "__main__":
    main()
