# Message templates and their delivery ledger arrive with the guest-messaging work.
