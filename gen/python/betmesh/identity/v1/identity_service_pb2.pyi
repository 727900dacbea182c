import datetime

from betmesh.common.v1 import money_pb2 as _money_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class KycStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    KYC_STATUS_UNSPECIFIED: _ClassVar[KycStatus]
    KYC_STATUS_PROVISIONAL: _ClassVar[KycStatus]
    KYC_STATUS_PENDING: _ClassVar[KycStatus]
    KYC_STATUS_VERIFIED: _ClassVar[KycStatus]
    KYC_STATUS_REJECTED: _ClassVar[KycStatus]
    KYC_STATUS_DEACTIVATED: _ClassVar[KycStatus]
    KYC_STATUS_CLOSED: _ClassVar[KycStatus]

class KycMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    KYC_METHOD_UNSPECIFIED: _ClassVar[KycMethod]
    KYC_METHOD_FRANCECONNECT: _ClassVar[KycMethod]
    KYC_METHOD_PAID_PROVIDER: _ClassVar[KycMethod]

class AccountRestriction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCOUNT_RESTRICTION_UNSPECIFIED: _ClassVar[AccountRestriction]
    ACCOUNT_RESTRICTION_UNDER_AGE: _ClassVar[AccountRestriction]
    ACCOUNT_RESTRICTION_EXCLUSION_REGISTER: _ClassVar[AccountRestriction]
    ACCOUNT_RESTRICTION_SELF_EXCLUDED: _ClassVar[AccountRestriction]

class AssuranceLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ASSURANCE_LEVEL_UNSPECIFIED: _ClassVar[AssuranceLevel]
    ASSURANCE_LEVEL_EIDAS1: _ClassVar[AssuranceLevel]
    ASSURANCE_LEVEL_EIDAS2: _ClassVar[AssuranceLevel]
    ASSURANCE_LEVEL_EIDAS3: _ClassVar[AssuranceLevel]

class WebhookOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WEBHOOK_OUTCOME_UNSPECIFIED: _ClassVar[WebhookOutcome]
    WEBHOOK_OUTCOME_APPLIED: _ClassVar[WebhookOutcome]
    WEBHOOK_OUTCOME_DUPLICATE: _ClassVar[WebhookOutcome]
    WEBHOOK_OUTCOME_IGNORED: _ClassVar[WebhookOutcome]

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLE_UNSPECIFIED: _ClassVar[Role]
    ROLE_PLAYER: _ClassVar[Role]
    ROLE_PARTNER: _ClassVar[Role]
    ROLE_OPERATOR: _ClassVar[Role]
    ROLE_SERVICE: _ClassVar[Role]
KYC_STATUS_UNSPECIFIED: KycStatus
KYC_STATUS_PROVISIONAL: KycStatus
KYC_STATUS_PENDING: KycStatus
KYC_STATUS_VERIFIED: KycStatus
KYC_STATUS_REJECTED: KycStatus
KYC_STATUS_DEACTIVATED: KycStatus
KYC_STATUS_CLOSED: KycStatus
KYC_METHOD_UNSPECIFIED: KycMethod
KYC_METHOD_FRANCECONNECT: KycMethod
KYC_METHOD_PAID_PROVIDER: KycMethod
ACCOUNT_RESTRICTION_UNSPECIFIED: AccountRestriction
ACCOUNT_RESTRICTION_UNDER_AGE: AccountRestriction
ACCOUNT_RESTRICTION_EXCLUSION_REGISTER: AccountRestriction
ACCOUNT_RESTRICTION_SELF_EXCLUDED: AccountRestriction
ASSURANCE_LEVEL_UNSPECIFIED: AssuranceLevel
ASSURANCE_LEVEL_EIDAS1: AssuranceLevel
ASSURANCE_LEVEL_EIDAS2: AssuranceLevel
ASSURANCE_LEVEL_EIDAS3: AssuranceLevel
WEBHOOK_OUTCOME_UNSPECIFIED: WebhookOutcome
WEBHOOK_OUTCOME_APPLIED: WebhookOutcome
WEBHOOK_OUTCOME_DUPLICATE: WebhookOutcome
WEBHOOK_OUTCOME_IGNORED: WebhookOutcome
ROLE_UNSPECIFIED: Role
ROLE_PLAYER: Role
ROLE_PARTNER: Role
ROLE_OPERATOR: Role
ROLE_SERVICE: Role

class Player(_message.Message):
    __slots__ = ("player_id", "kyc_status", "kyc_method", "display_name", "created_at", "verified_at", "restrictions", "self_excluded_until")
    PLAYER_ID_FIELD_NUMBER: _ClassVar[int]
    KYC_STATUS_FIELD_NUMBER: _ClassVar[int]
    KYC_METHOD_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_AT_FIELD_NUMBER: _ClassVar[int]
    RESTRICTIONS_FIELD_NUMBER: _ClassVar[int]
    SELF_EXCLUDED_UNTIL_FIELD_NUMBER: _ClassVar[int]
    player_id: str
    kyc_status: KycStatus
    kyc_method: KycMethod
    display_name: str
    created_at: _timestamp_pb2.Timestamp
    verified_at: _timestamp_pb2.Timestamp
    restrictions: _containers.RepeatedScalarFieldContainer[AccountRestriction]
    self_excluded_until: _timestamp_pb2.Timestamp
    def __init__(self, player_id: _Optional[str] = ..., kyc_status: _Optional[_Union[KycStatus, str]] = ..., kyc_method: _Optional[_Union[KycMethod, str]] = ..., display_name: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., verified_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., restrictions: _Optional[_Iterable[_Union[AccountRestriction, str]]] = ..., self_excluded_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AccessToken(_message.Message):
    __slots__ = ("token", "expires_at")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    token: str
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, token: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StartFranceConnectLoginRequest(_message.Message):
    __slots__ = ("return_to", "assurance_level")
    RETURN_TO_FIELD_NUMBER: _ClassVar[int]
    ASSURANCE_LEVEL_FIELD_NUMBER: _ClassVar[int]
    return_to: str
    assurance_level: AssuranceLevel
    def __init__(self, return_to: _Optional[str] = ..., assurance_level: _Optional[_Union[AssuranceLevel, str]] = ...) -> None: ...

class StartFranceConnectLoginResponse(_message.Message):
    __slots__ = ("authorization_url", "login_attempt_id")
    AUTHORIZATION_URL_FIELD_NUMBER: _ClassVar[int]
    LOGIN_ATTEMPT_ID_FIELD_NUMBER: _ClassVar[int]
    authorization_url: str
    login_attempt_id: str
    def __init__(self, authorization_url: _Optional[str] = ..., login_attempt_id: _Optional[str] = ...) -> None: ...

class CompleteFranceConnectLoginRequest(_message.Message):
    __slots__ = ("code", "state", "iss", "error", "error_description")
    CODE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ISS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ERROR_DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    code: str
    state: str
    iss: str
    error: str
    error_description: str
    def __init__(self, code: _Optional[str] = ..., state: _Optional[str] = ..., iss: _Optional[str] = ..., error: _Optional[str] = ..., error_description: _Optional[str] = ...) -> None: ...

class CompleteFranceConnectLoginResponse(_message.Message):
    __slots__ = ("player", "access_token", "return_to", "session_id")
    PLAYER_FIELD_NUMBER: _ClassVar[int]
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RETURN_TO_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    player: Player
    access_token: AccessToken
    return_to: str
    session_id: str
    def __init__(self, player: _Optional[_Union[Player, _Mapping]] = ..., access_token: _Optional[_Union[AccessToken, _Mapping]] = ..., return_to: _Optional[str] = ..., session_id: _Optional[str] = ...) -> None: ...

class StartFranceConnectLogoutRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class StartFranceConnectLogoutResponse(_message.Message):
    __slots__ = ("logout_url",)
    LOGOUT_URL_FIELD_NUMBER: _ClassVar[int]
    logout_url: str
    def __init__(self, logout_url: _Optional[str] = ...) -> None: ...

class CompleteFranceConnectLogoutRequest(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: str
    def __init__(self, state: _Optional[str] = ...) -> None: ...

class CompleteFranceConnectLogoutResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StartKycVerificationRequest(_message.Message):
    __slots__ = ("player_id", "provider")
    PLAYER_ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    player_id: str
    provider: str
    def __init__(self, player_id: _Optional[str] = ..., provider: _Optional[str] = ...) -> None: ...

class StartKycVerificationResponse(_message.Message):
    __slots__ = ("verification_session_id", "verification_url")
    VERIFICATION_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    VERIFICATION_URL_FIELD_NUMBER: _ClassVar[int]
    verification_session_id: str
    verification_url: str
    def __init__(self, verification_session_id: _Optional[str] = ..., verification_url: _Optional[str] = ...) -> None: ...

class WebhookHeader(_message.Message):
    __slots__ = ("name", "value")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class HandleKycWebhookRequest(_message.Message):
    __slots__ = ("provider", "headers", "raw_body")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    RAW_BODY_FIELD_NUMBER: _ClassVar[int]
    provider: str
    headers: _containers.RepeatedCompositeFieldContainer[WebhookHeader]
    raw_body: bytes
    def __init__(self, provider: _Optional[str] = ..., headers: _Optional[_Iterable[_Union[WebhookHeader, _Mapping]]] = ..., raw_body: _Optional[bytes] = ...) -> None: ...

class HandleKycWebhookResponse(_message.Message):
    __slots__ = ("outcome",)
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    outcome: WebhookOutcome
    def __init__(self, outcome: _Optional[_Union[WebhookOutcome, str]] = ...) -> None: ...

class GetPlayerRequest(_message.Message):
    __slots__ = ("player_id",)
    PLAYER_ID_FIELD_NUMBER: _ClassVar[int]
    player_id: str
    def __init__(self, player_id: _Optional[str] = ...) -> None: ...

class GetPlayerResponse(_message.Message):
    __slots__ = ("player",)
    PLAYER_FIELD_NUMBER: _ClassVar[int]
    player: Player
    def __init__(self, player: _Optional[_Union[Player, _Mapping]] = ...) -> None: ...

class ResponsibleGamblingLimits(_message.Message):
    __slots__ = ("deposit_cap_7d", "stake_cap_7d", "pending_deposit_cap_7d", "pending_deposit_cap_effective_at", "pending_stake_cap_7d", "pending_stake_cap_effective_at")
    DEPOSIT_CAP_7D_FIELD_NUMBER: _ClassVar[int]
    STAKE_CAP_7D_FIELD_NUMBER: _ClassVar[int]
    PENDING_DEPOSIT_CAP_7D_FIELD_NUMBER: _ClassVar[int]
    PENDING_DEPOSIT_CAP_EFFECTIVE_AT_FIELD_NUMBER: _ClassVar[int]
    PENDING_STAKE_CAP_7D_FIELD_NUMBER: _ClassVar[int]
    PENDING_STAKE_CAP_EFFECTIVE_AT_FIELD_NUMBER: _ClassVar[int]
    deposit_cap_7d: _money_pb2.Money
    stake_cap_7d: _money_pb2.Money
    pending_deposit_cap_7d: _money_pb2.Money
    pending_deposit_cap_effective_at: _timestamp_pb2.Timestamp
    pending_stake_cap_7d: _money_pb2.Money
    pending_stake_cap_effective_at: _timestamp_pb2.Timestamp
    def __init__(self, deposit_cap_7d: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., stake_cap_7d: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., pending_deposit_cap_7d: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., pending_deposit_cap_effective_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., pending_stake_cap_7d: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., pending_stake_cap_effective_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SetResponsibleGamblingLimitsRequest(_message.Message):
    __slots__ = ("player_id", "deposit_cap_7d", "stake_cap_7d")
    PLAYER_ID_FIELD_NUMBER: _ClassVar[int]
    DEPOSIT_CAP_7D_FIELD_NUMBER: _ClassVar[int]
    STAKE_CAP_7D_FIELD_NUMBER: _ClassVar[int]
    player_id: str
    deposit_cap_7d: _money_pb2.Money
    stake_cap_7d: _money_pb2.Money
    def __init__(self, player_id: _Optional[str] = ..., deposit_cap_7d: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., stake_cap_7d: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class SetResponsibleGamblingLimitsResponse(_message.Message):
    __slots__ = ("limits",)
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    limits: ResponsibleGamblingLimits
    def __init__(self, limits: _Optional[_Union[ResponsibleGamblingLimits, _Mapping]] = ...) -> None: ...

class GetResponsibleGamblingLimitsRequest(_message.Message):
    __slots__ = ("player_id",)
    PLAYER_ID_FIELD_NUMBER: _ClassVar[int]
    player_id: str
    def __init__(self, player_id: _Optional[str] = ...) -> None: ...

class GetResponsibleGamblingLimitsResponse(_message.Message):
    __slots__ = ("limits",)
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    limits: ResponsibleGamblingLimits
    def __init__(self, limits: _Optional[_Union[ResponsibleGamblingLimits, _Mapping]] = ...) -> None: ...

class SelfExcludeRequest(_message.Message):
    __slots__ = ("player_id", "duration")
    PLAYER_ID_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    player_id: str
    duration: _duration_pb2.Duration
    def __init__(self, player_id: _Optional[str] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class SelfExcludeResponse(_message.Message):
    __slots__ = ("player",)
    PLAYER_FIELD_NUMBER: _ClassVar[int]
    player: Player
    def __init__(self, player: _Optional[_Union[Player, _Mapping]] = ...) -> None: ...

class IssueTokenRequest(_message.Message):
    __slots__ = ("client_id", "client_secret", "audience", "scopes")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_SECRET_FIELD_NUMBER: _ClassVar[int]
    AUDIENCE_FIELD_NUMBER: _ClassVar[int]
    SCOPES_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    client_secret: str
    audience: str
    scopes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, client_id: _Optional[str] = ..., client_secret: _Optional[str] = ..., audience: _Optional[str] = ..., scopes: _Optional[_Iterable[str]] = ...) -> None: ...

class IssueTokenResponse(_message.Message):
    __slots__ = ("access_token", "role")
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    access_token: AccessToken
    role: Role
    def __init__(self, access_token: _Optional[_Union[AccessToken, _Mapping]] = ..., role: _Optional[_Union[Role, str]] = ...) -> None: ...

class GetJwksRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class JsonWebKey(_message.Message):
    __slots__ = ("kty", "kid", "use", "alg", "crv", "x", "y")
    KTY_FIELD_NUMBER: _ClassVar[int]
    KID_FIELD_NUMBER: _ClassVar[int]
    USE_FIELD_NUMBER: _ClassVar[int]
    ALG_FIELD_NUMBER: _ClassVar[int]
    CRV_FIELD_NUMBER: _ClassVar[int]
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    kty: str
    kid: str
    use: str
    alg: str
    crv: str
    x: str
    y: str
    def __init__(self, kty: _Optional[str] = ..., kid: _Optional[str] = ..., use: _Optional[str] = ..., alg: _Optional[str] = ..., crv: _Optional[str] = ..., x: _Optional[str] = ..., y: _Optional[str] = ...) -> None: ...

class GetJwksResponse(_message.Message):
    __slots__ = ("keys",)
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedCompositeFieldContainer[JsonWebKey]
    def __init__(self, keys: _Optional[_Iterable[_Union[JsonWebKey, _Mapping]]] = ...) -> None: ...
