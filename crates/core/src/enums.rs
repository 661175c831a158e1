//! Protocol enums. On the wire (JSON) they are the upper-case constant names, as Authlete's SDKs
//! expect; inside OAuth artefacts they are the protocol strings.

use serde::{Deserialize, Serialize};

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $wire:literal / $proto:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $wire)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The constant name used in JSON bodies.
            pub fn wire_name(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            /// The string used inside OAuth / OIDC artefacts.
            pub fn protocol(self) -> &'static str {
                match self { $($name::$variant => $proto),+ }
            }

            pub fn from_protocol(s: &str) -> Option<Self> {
                match s { $($proto => Some($name::$variant),)+ _ => None }
            }

            pub fn from_wire_name(s: &str) -> Option<Self> {
                match s { $($wire => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

wire_enum!(GrantType {
    AuthorizationCode => "AUTHORIZATION_CODE" / "authorization_code",
    Implicit => "IMPLICIT" / "implicit",
    Password => "PASSWORD" / "password",
    ClientCredentials => "CLIENT_CREDENTIALS" / "client_credentials",
    RefreshToken => "REFRESH_TOKEN" / "refresh_token",
    Ciba => "CIBA" / "urn:openid:params:grant-type:ciba",
    DeviceCode => "DEVICE_CODE" / "urn:ietf:params:oauth:grant-type:device_code",
    TokenExchange => "TOKEN_EXCHANGE" / "urn:ietf:params:oauth:grant-type:token-exchange",
    JwtBearer => "JWT_BEARER" / "urn:ietf:params:oauth:grant-type:jwt-bearer",
});

wire_enum!(ResponseType {
    None => "NONE" / "none",
    Code => "CODE" / "code",
    Token => "TOKEN" / "token",
    IdToken => "ID_TOKEN" / "id_token",
    CodeToken => "CODE_TOKEN" / "code token",
    CodeIdToken => "CODE_ID_TOKEN" / "code id_token",
    IdTokenToken => "ID_TOKEN_TOKEN" / "id_token token",
    CodeIdTokenToken => "CODE_ID_TOKEN_TOKEN" / "code id_token token",
});

impl ResponseType {
    /// Parses a `response_type` value: a space-separated set of words in any order.
    pub fn parse_request_value(value: &str) -> Option<Self> {
        let mut code = false;
        let mut token = false;
        let mut id_token = false;
        let mut none = false;
        for word in value.split(' ').filter(|w| !w.is_empty()) {
            let seen = match word {
                "code" => &mut code,
                "token" => &mut token,
                "id_token" => &mut id_token,
                "none" => &mut none,
                _ => return None,
            };
            if *seen {
                return None;
            }
            *seen = true;
        }
        match (none, code, token, id_token) {
            (true, false, false, false) => Some(Self::None),
            (false, true, false, false) => Some(Self::Code),
            (false, false, true, false) => Some(Self::Token),
            (false, false, false, true) => Some(Self::IdToken),
            (false, true, true, false) => Some(Self::CodeToken),
            (false, true, false, true) => Some(Self::CodeIdToken),
            (false, false, true, true) => Some(Self::IdTokenToken),
            (false, true, true, true) => Some(Self::CodeIdTokenToken),
            _ => None,
        }
    }

    pub fn has_code(self) -> bool {
        matches!(
            self,
            Self::Code | Self::CodeToken | Self::CodeIdToken | Self::CodeIdTokenToken
        )
    }

    pub fn has_token(self) -> bool {
        matches!(
            self,
            Self::Token | Self::CodeToken | Self::IdTokenToken | Self::CodeIdTokenToken
        )
    }

    pub fn has_id_token(self) -> bool {
        matches!(
            self,
            Self::IdToken | Self::CodeIdToken | Self::IdTokenToken | Self::CodeIdTokenToken
        )
    }
}

wire_enum!(ResponseMode {
    Query => "QUERY" / "query",
    Fragment => "FRAGMENT" / "fragment",
    FormPost => "FORM_POST" / "form_post",
    Jwt => "JWT" / "jwt",
    QueryJwt => "QUERY_JWT" / "query.jwt",
    FragmentJwt => "FRAGMENT_JWT" / "fragment.jwt",
    FormPostJwt => "FORM_POST_JWT" / "form_post.jwt",
});

wire_enum!(ClientAuthMethod {
    None => "NONE" / "none",
    ClientSecretBasic => "CLIENT_SECRET_BASIC" / "client_secret_basic",
    ClientSecretPost => "CLIENT_SECRET_POST" / "client_secret_post",
    ClientSecretJwt => "CLIENT_SECRET_JWT" / "client_secret_jwt",
    PrivateKeyJwt => "PRIVATE_KEY_JWT" / "private_key_jwt",
    TlsClientAuth => "TLS_CLIENT_AUTH" / "tls_client_auth",
    SelfSignedTlsClientAuth => "SELF_SIGNED_TLS_CLIENT_AUTH" / "self_signed_tls_client_auth",
});

wire_enum!(ClientType {
    Public => "PUBLIC" / "public",
    Confidential => "CONFIDENTIAL" / "confidential",
});

wire_enum!(ApplicationType {
    Web => "WEB" / "web",
    Native => "NATIVE" / "native",
});

wire_enum!(SubjectType {
    Public => "PUBLIC" / "public",
    Pairwise => "PAIRWISE" / "pairwise",
});

wire_enum!(Display {
    Page => "PAGE" / "page",
    Popup => "POPUP" / "popup",
    Touch => "TOUCH" / "touch",
    Wap => "WAP" / "wap",
});

wire_enum!(Prompt {
    None => "NONE" / "none",
    Login => "LOGIN" / "login",
    Consent => "CONSENT" / "consent",
    SelectAccount => "SELECT_ACCOUNT" / "select_account",
    Create => "CREATE" / "create",
});

wire_enum!(
    /// JWS algorithms (`idTokenSignAlg`, `userInfoSignAlg`, `accessTokenSignAlg`, ...). The wire
    /// name and the protocol string are the same except for `NONE`.
    JwsAlg {
        None => "NONE" / "none",
        Hs256 => "HS256" / "HS256",
        Hs384 => "HS384" / "HS384",
        Hs512 => "HS512" / "HS512",
        Rs256 => "RS256" / "RS256",
        Rs384 => "RS384" / "RS384",
        Rs512 => "RS512" / "RS512",
        Es256 => "ES256" / "ES256",
        Es384 => "ES384" / "ES384",
        Es512 => "ES512" / "ES512",
        Ps256 => "PS256" / "PS256",
        Ps384 => "PS384" / "PS384",
        Ps512 => "PS512" / "PS512",
        Es256K => "ES256K" / "ES256K",
        EdDsa => "EdDSA" / "EdDSA",
    }
);

impl JwsAlg {
    /// HMAC algorithms, keyed with the client secret.
    pub fn is_symmetric(self) -> bool {
        matches!(self, Self::Hs256 | Self::Hs384 | Self::Hs512)
    }

    /// Algorithms signed with a private key of the service.
    pub fn is_asymmetric(self) -> bool {
        !self.is_symmetric() && self != Self::None
    }
}

wire_enum!(CodeChallengeMethod {
    Plain => "PLAIN" / "plain",
    S256 => "S256" / "S256",
});

wire_enum!(
    /// `reason` of `/auth/authorization/fail`.
    AuthorizationFailReason {
        Unknown => "UNKNOWN" / "unknown",
        NotLoggedIn => "NOT_LOGGED_IN" / "not_logged_in",
        MaxAgeNotSupported => "MAX_AGE_NOT_SUPPORTED" / "max_age_not_supported",
        ExceedsMaxAge => "EXCEEDS_MAX_AGE" / "exceeds_max_age",
        DifferentSubject => "DIFFERENT_SUBJECT" / "different_subject",
        AcrNotSatisfied => "ACR_NOT_SATISFIED" / "acr_not_satisfied",
        Denied => "DENIED" / "denied",
        ServerError => "SERVER_ERROR" / "server_error",
        NotAuthenticated => "NOT_AUTHENTICATED" / "not_authenticated",
        AccountSelectionRequired => "ACCOUNT_SELECTION_REQUIRED" / "account_selection_required",
        ConsentRequired => "CONSENT_REQUIRED" / "consent_required",
        InteractionRequired => "INTERACTION_REQUIRED" / "interaction_required",
        InvalidTarget => "INVALID_TARGET" / "invalid_target",
        InvalidScope => "INVALID_SCOPE" / "invalid_scope",
        UnauthorizedClient => "UNAUTHORIZED_CLIENT" / "unauthorized_client",
        TemporarilyUnavailable => "TEMPORARILY_UNAVAILABLE" / "temporarily_unavailable",
    }
);

wire_enum!(
    /// `reason` of `/auth/token/fail`.
    TokenFailReason {
        Unknown => "UNKNOWN" / "unknown",
        InvalidResourceOwnerCredentials => "INVALID_RESOURCE_OWNER_CREDENTIALS" / "invalid_resource_owner_credentials",
        InvalidTarget => "INVALID_TARGET" / "invalid_target",
        InvalidClient => "INVALID_CLIENT" / "invalid_client",
        UnauthorizedClient => "UNAUTHORIZED_CLIENT" / "unauthorized_client",
        InvalidScope => "INVALID_SCOPE" / "invalid_scope",
    }
);

/// `action` values of every core endpoint, in one enum: each endpoint uses a subset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Action {
    InternalServerError,
    BadRequest,
    Location,
    Form,
    NoInteraction,
    Interaction,
    InvalidClient,
    Password,
    Ok,
    Unauthorized,
    Forbidden,
    /// `/auth/userinfo/issue`: the body is JSON.
    Json,
    /// `/auth/userinfo/issue`: the body is a signed JWT.
    Jwt,
}

impl Action {
    pub fn wire_name(self) -> &'static str {
        match self {
            Action::InternalServerError => "INTERNAL_SERVER_ERROR",
            Action::BadRequest => "BAD_REQUEST",
            Action::Location => "LOCATION",
            Action::Form => "FORM",
            Action::NoInteraction => "NO_INTERACTION",
            Action::Interaction => "INTERACTION",
            Action::InvalidClient => "INVALID_CLIENT",
            Action::Password => "PASSWORD",
            Action::Ok => "OK",
            Action::Unauthorized => "UNAUTHORIZED",
            Action::Forbidden => "FORBIDDEN",
            Action::Json => "JSON",
            Action::Jwt => "JWT",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_type_words_in_any_order() {
        assert_eq!(
            ResponseType::parse_request_value("token code"),
            Some(ResponseType::CodeToken)
        );
        assert_eq!(
            ResponseType::parse_request_value("id_token code token"),
            Some(ResponseType::CodeIdTokenToken)
        );
        assert_eq!(ResponseType::parse_request_value("code code"), None);
        assert_eq!(ResponseType::parse_request_value("none code"), None);
        assert_eq!(ResponseType::parse_request_value("foo"), None);
        assert_eq!(ResponseType::parse_request_value(""), None);
    }

    #[test]
    fn wire_names_round_trip() {
        for g in GrantType::ALL {
            let json = serde_json::to_string(g).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", g.wire_name()));
            assert_eq!(GrantType::from_protocol(g.protocol()), Some(*g));
        }
    }
}
