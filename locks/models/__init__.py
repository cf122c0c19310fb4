"""The locks app's models: accounts, locks, assignments, codes and the vendor-call audit (`core`),
and what reading the locks back finds (`read_back`)."""

from locks.models.core import (  # noqa: F401
    ACCESS_LINK_MAX_LENGTH,
    FINAL_CODE_STATES,
    LEAD_DAYS_DEFAULT,
    LEAD_DAYS_MAX,
    LEAD_DAYS_MIN,
    LIVE_CODE_STATES,
    MARGIN_MINUTES_DEFAULT,
    MARGIN_MINUTES_MAX,
    MARGIN_MINUTES_MIN,
    AccessCode,
    AccountStatus,
    CallOutcome,
    CodeSource,
    CodeState,
    Lock,
    LockAssignment,
    Provider,
    ProviderAccount,
    VendorCall,
    provider_name,
    validate_provider,
)
from locks.models.read_back import FindingKind, LockFinding, UnmanagedCode  # noqa: F401
