"""Message template benchmark: validation and rendering time as a host's text grows, up to 1 MB.

    .venv/bin/python benchmarks/rendering.py

For each kind of text (adversarial: openings never closed, runs of spaces after an opening, runs
of braces and angle brackets, NUL and control characters; normal: a guest message repeated) and
each size (BENCH_SIZES characters, default "1000,10000,100000,1000000"), it prints the median
over BENCH_RUNS runs (default 3) of:
- validate: `rendering.problems` reading the whole text (the size cap lifted, as for a saved
  template from before the cap or a direct call);
- preview: the live preview's substitution (known variables filled in, the rest left as written);
- render: the send-time substitution (stops at the first unknown variable, as sending does);
with the machine's 1-minute load average read just before and just after, since other processes
on a shared machine slow every figure. The editor refuses text over rendering.MAX_BODY_LENGTH
(10,000 characters), so a request never handles more; the larger sizes show that no text can
stall a worker even so. It prints figures; it asserts nothing. No database is used.
"""

import contextlib
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZES = [int(size) for size in os.environ.get("BENCH_SIZES", "1000,10000,100000,1000000").split(",")]
RUNS = int(os.environ.get("BENCH_RUNS", 3))

NORMAL_MESSAGE = (
    "Hello {{guest_name}},\n\nYour door code for {{property_name}} is {{smartlock_code}}.\n"
    "It works from {{code_valid_from}} until {{code_valid_until}}. {{code_usage_note}}\n\n"
    "Check-in is from {{check_in_time}} on {{arrival_date}}; check-out by {{check_out_time}} on {{departure_date}}.\n\n"
)
PLAIN_PROSE = "The key safe is left of the door; the bins go out on Tuesday evening, 50% recycled. "

# name -> a function of the size giving a text of about that many characters.
TEXTS = {
    "adversarial: {{ + spaces + x": lambda n: "{{" + " " * (n - 3) + "x",
    "adversarial: << + spaces + x": lambda n: "<<" + " " * (n - 3) + "x",
    "adversarial: << spaces, line break, spaces >>": lambda n: "<<" + " " * (n // 2) + "a\nb" + " " * (n // 2) + ">>",
    "adversarial: {{ repeated": lambda n: "{{" * (n // 2),
    "adversarial: << repeated": lambda n: "<<" * (n // 2),
    "adversarial: '{{ ' repeated": lambda n: "{{ " * (n // 3),
    "adversarial: {% never closed": lambda n: "{%" * (n // 2),
    "adversarial: '{ a ' repeated": lambda n: "{ a " * (n // 4),
    "adversarial: word + spaces + >": lambda n: "a" + " " * (n - 2) + ">",
    "adversarial: '{{ x }}' repeated": lambda n: "{{ x }}" * (n // 7),
    "adversarial: NUL and control characters": lambda n: "\x00\x01\x1b\x7f\x85" * (n // 5),
    "normal: guest message repeated": lambda n: (NORMAL_MESSAGE * (n // len(NORMAL_MESSAGE) + 1))[:n],
    "normal: prose without variables": lambda n: (PLAIN_PROSE * (n // len(PLAIN_PROSE) + 1))[:n],
}


def configure() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nowistay.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def median_ms(function) -> float:
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        function()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def measure(text: str) -> dict[str, float]:
    from messaging import rendering
    from messaging.previews import lenient_render as _lenient_render

    values = {name: f"<{name}>" for name in rendering.VARIABLES if name not in rendering.ALIASES}

    def render():
        with contextlib.suppress(rendering.RenderError):
            rendering.render(text, values)

    return {
        "validate": median_ms(lambda: rendering.problems(text, max_length=None)),
        "preview": median_ms(lambda: _lenient_render(text, values)),
        "render": median_ms(render),
    }


def main() -> None:
    configure()
    print(f"median of {RUNS} runs, in ms; load = 1-minute load average before → after ({os.cpu_count()} CPUs)")
    print(f"{'text':48} {'chars':>9} {'validate':>9} {'preview':>9} {'render':>9}   load")
    for name, make in TEXTS.items():
        for size in SIZES:
            text = make(size)
            load_before = os.getloadavg()[0]
            figures = measure(text)
            load_after = os.getloadavg()[0]
            print(
                f"{name:48} {len(text):>9,} {figures['validate']:>9.1f} {figures['preview']:>9.1f} {figures['render']:>9.1f}"
                f"   {load_before:.2f} → {load_after:.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
