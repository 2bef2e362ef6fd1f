"""The account flows: what a user (or an operator) does, each step decided once.

`Steps` holds what every flow shares (record an event, start a session, check a password
under the throttle and the hashing gate, check a code, the one re-authentication rule).
Each flow object holds `Steps` and only its own collaborators, and `build_core` makes one
of each: `core.accounts` (sign-up, log-in, sessions), `core.passwords`
(re-authentication, password changes), `core.second_factor`
(codes, enrolment, recovery codes), `core.passkeys` (WebAuthn), `core.lifecycle`
(disable, enable, delete an account), `core.email` (the verified address),
`core.recovery` (password reset), `core.federation` (log in with outside OpenID Connect
providers), `core.identities` (a new outside identity's account, linked identities).
Every state change a flow makes records its event. Each returns an `Outcome` an app
turns into a page.
"""

from auth_utils.flows.accounts import AccountFlows
from auth_utils.flows.email import EmailFlows
from auth_utils.flows.federation import FederationFlows
from auth_utils.flows.identities import IdentityFlows
from auth_utils.flows.lifecycle import LifecycleFlows
from auth_utils.flows.passkeys import PasskeyFlows
from auth_utils.flows.passwords import PasswordFlows
from auth_utils.flows.recovery import RecoveryFlows
from auth_utils.flows.second_factor import FactorStatus, SecondFactorFlows
from auth_utils.flows.steps import PASSWORD_INPUT_MAX, Steps

__all__ = ["PASSWORD_INPUT_MAX", "AccountFlows", "EmailFlows", "FactorStatus", "FederationFlows",
           "IdentityFlows", "LifecycleFlows", "PasskeyFlows", "PasswordFlows", "RecoveryFlows",
           "SecondFactorFlows", "Steps"]
