"""verify: claim verification for newsrooms."""

__version__ = "0.1.0"

from .config import VerifyConfig
from .errors import VerifyError
from .models import Citation, Claim, ClaimKind, EvidencePassage, Label, Report, Verdict
from .verifier import Verifier

__all__ = [
    "Citation",
    "Claim",
    "ClaimKind",
    "EvidencePassage",
    "Label",
    "Report",
    "Verdict",
    "Verifier",
    "VerifyConfig",
    "VerifyError",
    "__version__",
]
