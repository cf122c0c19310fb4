"""The locks app's models: accounts, locks, assignments, codes and the vendor-call audit (`core`),
what reading the locks back finds (`read_back`), the fallbacks that keep guests from being left
outside (`fallback`), and a host's rotations of a code (`rotation`)."""

from locks.models.core import (  # noqa: F401
    ACCESS_LINK_MAX_LENGTH,
    BACKUP_CODES_DEFAULT,
    BACKUP_CODES_MAX,
    FINAL_CODE_STATES,
    LADDER_HOURS_MAX,
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
    FallbackKind,
    Lock,
    LockAssignment,
    Provider,
    ProviderAccount,
    VendorCall,
    provider_name,
    validate_provider,
)
from locks.models.fallback import POOL_STATES, BackupCode, BackupState, LadderStep, LadderStepKind  # noqa: F401
from locks.models.read_back import FindingKind, LockFinding, UnmanagedCode  # noqa: F401
from locks.models.rotation import CodeRotation, RotationSource  # noqa: F401
