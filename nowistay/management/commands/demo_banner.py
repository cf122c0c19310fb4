import contextlib
import threading

from django.core.management.base import BaseCommand

from nowistay import demo
from nowistay.demo import refuse_outside_demo_mode


class Command(BaseCommand):
    help = "Wait until web, worker, beat and the sandbox answer, then print the demo's URLs and logins (make run)."

    def add_arguments(self, parser):
        parser.add_argument("--web", default="http://127.0.0.1:8000/", help="the web server's URL")
        parser.add_argument("--sandbox", default="http://127.0.0.1:8100/", help="the sandbox lock clouds' URL")
        parser.add_argument(
            "--keep-running",
            action="store_true",
            help="stay up after printing (under honcho, a process that ends stops all the others)",
        )

    def handle(self, *args, web: str, sandbox: str, keep_running: bool, **options):
        refuse_outside_demo_mode("print the demo logins")

        def say(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()  # a pipe to honcho is block-buffered

        demo.wait_until_up(lambda: demo.not_up(web_url=web, sandbox_url=sandbox), say=say)
        for line in demo.banner(web_url=web, sandbox_url=sandbox):
            say(line)
        if keep_running:
            # Ctrl-C reaches every process of the terminal: end quietly.
            with contextlib.suppress(KeyboardInterrupt):
                threading.Event().wait()
