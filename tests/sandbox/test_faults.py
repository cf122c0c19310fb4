"""The sandbox's probabilistic fault switches (failure_rate, loss_rate), judged in the sandbox's
own process: its settings and database are not the product's, so the check runs in a child."""

import json
import os
import subprocess
import sys
import textwrap

from tests.helpers.repository import ROOT

SCRIPT = textwrap.dedent(
    """
    import json, random, sys
    import django
    django.setup()
    from django.core.management import call_command
    call_command("migrate", verbosity=0)
    from sandbox import faults
    from sandbox.models import VirtualAccount, VirtualLock

    faults.dice = random.Random(6)
    account = VirtualAccount.objects.create(vendor="ttlock", login="a", display_name="a", retry_after_seconds=7)
    lock = VirtualLock.objects.create(account=account, vendor_lock_id="1", name="door", kind="eligible")

    def tally(runs, **kwargs):
        seen = {"503": 0, "429": 0, "offline": 0, "lost": 0, "clean": 0, "retry_after": set()}
        account.refresh_from_db()
        lock.refresh_from_db()
        for _ in range(runs):
            verdict = faults.judge(account, lock, **kwargs)
            if verdict.response is not None:
                seen[str(verdict.response.status_code)] += 1
                if verdict.response.status_code == 429:
                    seen["retry_after"].add(verdict.response["Retry-After"])
            elif verdict.offline:
                seen["offline"] += 1
            elif verdict.lose_response:
                seen["lost"] += 1
            else:
                seen["clean"] += 1
        seen["retry_after"] = sorted(seen["retry_after"])
        return seen

    results = {"off": tally(200, write=True)}
    VirtualAccount.objects.filter(pk=account.pk).update(failure_rate=0.3, loss_rate=0.05)
    results["writes"] = tally(1000, write=True)
    results["reads"] = tally(300, write=False)
    VirtualAccount.objects.filter(pk=account.pk).update(failure_rate=0.0, loss_rate=0.0)
    VirtualLock.objects.filter(pk=lock.pk).update(failure_rate=1.0, server_errors=2)
    results["lock_always"] = tally(10, write=True)
    account.refresh_from_db()
    lock.refresh_from_db()
    results["fields"] = [account.failure_rate, account.loss_rate, lock.failure_rate, lock.loss_rate, lock.server_errors]
    json.dump(results, sys.stdout)
    """
)


def test_probabilistic_switches_fail_and_lose_about_their_share(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sandbox.settings",
        "SANDBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'sandbox.sqlite3'}",
    }
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)

    assert results["off"]["clean"] == 200  # both rates default to 0: nothing happens

    writes = results["writes"]
    failed = writes["503"] + writes["429"]
    assert 0.25 * 1000 <= failed <= 0.35 * 1000  # 30 % transient failures, nothing done
    assert writes["503"] > 0.4 * failed and writes["429"] > 0.4 * failed  # about half each
    assert writes["retry_after"] == ["7"]  # the holder's Retry-After
    # 5 % of the writes that went through lost their answer.
    assert 0.02 * (1000 - failed) <= writes["lost"] <= 0.08 * (1000 - failed)
    assert writes["offline"] == 0

    reads = results["reads"]
    assert reads["lost"] == 0 and reads["503"] + reads["429"] > 0  # answers of reads are never lost

    # A lock's own rate applies too; one-shot switches are consumed first.
    assert results["lock_always"]["503"] + results["lock_always"]["429"] == 10
    assert results["fields"][-1] == 0
