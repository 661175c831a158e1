//! `/auth/userinfo` (is the access token good for the UserInfo endpoint, and which claims does
//! it ask for) and `/auth/userinfo/issue` (the UserInfo response, JSON or a signed JWT;
//! OpenID Connect Core §5.3).

use serde_json::{Map, Value};

use crate::claims::requested_claim_names;
use crate::enums::{Action, GrantType, JwsAlg};
use crate::envelope::{envelope, envelope_with_message};
use crate::id_token::{IdTokenSigning, audience, sign_jwt, subject_for};
use crate::model::{Client, Service};
use crate::records::{Millis, TokenRecord};
use crate::response::OAuthError;
use crate::result_code::*;
use crate::wire::{
    Envelope, EnvelopeOnly, UserInfoFields, UserInfoIssueResponse, UserInfoResponse,
};

const KIND: &str = "userInfoResponse";
const ISSUE_KIND: &str = "userInfoIssueResponse";

/// The result codes of one endpoint, for the checks both share.
struct Codes {
    no_token: ResultCode,
    unknown: ResultCode,
    expired_refreshable: ResultCode,
    expired_both: ResultCode,
    expired: ResultCode,
    no_openid: ResultCode,
    no_subject: ResultCode,
    password_grant: ResultCode,
}

const USERINFO: Codes = Codes {
    no_token: A088301,
    unknown: A088302,
    expired_refreshable: A089303,
    expired_both: A089302,
    expired: A089301,
    no_openid: A089304,
    no_subject: A089305,
    password_grant: A089306,
};

const ISSUE: Codes = Codes {
    no_token: A092301,
    unknown: A092302,
    expired_refreshable: A093303,
    expired_both: A093302,
    expired: A093301,
    no_openid: A093304,
    no_subject: A093305,
    password_grant: A093306,
};

/// An error: action, OAuth error code and result code; `responseContent` is the
/// `WWW-Authenticate` value.
struct Refusal(Action, &'static str, ResultCode);

fn challenge(service: &Service, kind: &'static str, refusal: Refusal) -> Envelope {
    let Refusal(action, error, code) = refusal;
    let err = OAuthError::new(error, code, &[]);
    let content = err.www_authenticate(service, None);
    envelope_with_message(kind, action, code, err.message, Some(content))
}

/// The presented token's value, or the refusal for a missing one.
fn token_value(token: Option<&str>, codes: &Codes) -> Result<String, Refusal> {
    match token.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => Ok(t.to_owned()),
        None => Err(Refusal(
            Action::BadRequest,
            "invalid_request",
            codes.no_token,
        )),
    }
}

/// The checks of OpenID Connect Core §5.3.1 on the token record found for the access token.
fn usable_for_userinfo<'a>(
    service: &Service,
    found: Option<&'a TokenRecord>,
    now: Millis,
    codes: &Codes,
) -> Result<&'a TokenRecord, Refusal> {
    let unauthorized = |code| Refusal(Action::Unauthorized, "invalid_token", code);
    let Some(t) = found.filter(|t| t.service_api_key == service.api_key) else {
        return Err(unauthorized(codes.unknown));
    };
    if t.access_expires_at <= now {
        let code = if t.has_refresh_token() && t.refresh_expires_at > now {
            codes.expired_refreshable
        } else if t.has_refresh_token() {
            codes.expired_both
        } else {
            codes.expired
        };
        return Err(unauthorized(code));
    }
    if !t.scopes.iter().any(|s| s == "openid") {
        return Err(Refusal(
            Action::Forbidden,
            "insufficient_scope",
            codes.no_openid,
        ));
    }
    if t.grant_type == GrantType::Password {
        return Err(Refusal(
            Action::Forbidden,
            "insufficient_scope",
            codes.password_grant,
        ));
    }
    if t.subject.is_none() {
        return Err(unauthorized(codes.no_subject));
    }
    Ok(t)
}

/// The presented access token of a `/auth/userinfo` call, or its refusal.
pub fn userinfo_token(
    service: &Service,
    token: Option<&str>,
) -> Result<String, Box<UserInfoResponse>> {
    token_value(token, &USERINFO).map_err(|r| {
        let envelope = challenge(service, KIND, r);
        Box::new(UserInfoResponse {
            envelope,
            fields: UserInfoFields::default(),
        })
    })
}

/// `/auth/userinfo`: decides from the token record found for `token` and the alias of the
/// client it was issued to.
pub fn userinfo(
    service: &Service,
    token: &str,
    found: Option<&TokenRecord>,
    client_alias: Option<&str>,
    now: Millis,
) -> UserInfoResponse {
    match usable_for_userinfo(service, found, now, &USERINFO) {
        Err(refusal) => {
            let envelope = challenge(service, KIND, refusal);
            UserInfoResponse {
                envelope,
                fields: UserInfoFields::default(),
            }
        }
        Ok(t) => UserInfoResponse {
            envelope: envelope(KIND, Action::Ok, A091001, &[], None),
            fields: UserInfoFields {
                client_id: t.client_id,
                client_id_alias: client_alias.map(str::to_owned),
                client_id_alias_used: t.client_id_alias_used,
                subject: t.subject.clone(),
                scopes: Some(t.scopes.clone()),
                claims: Some(requested_claim_names(
                    service,
                    &t.scopes,
                    t.userinfo_claims.as_deref(),
                )),
                token: Some(token.to_owned()),
                properties: if t.properties.is_empty() {
                    None
                } else {
                    Some(t.properties.clone())
                },
                user_info_claims: t.userinfo_claims.clone(),
            },
        },
    }
}

fn issue_refusal(service: &Service, refusal: Refusal) -> Box<UserInfoIssueResponse> {
    let envelope = challenge(service, ISSUE_KIND, refusal);
    Box::new(EnvelopeOnly { envelope })
}

/// The presented access token of a `/auth/userinfo/issue` call, or its refusal.
pub fn issue_token(
    service: &Service,
    token: Option<&str>,
) -> Result<String, Box<UserInfoIssueResponse>> {
    token_value(token, &ISSUE).map_err(|r| issue_refusal(service, r))
}

/// What `/auth/userinfo/issue` was handed besides the token.
#[derive(Clone, Debug, Default)]
pub struct IssueInput<'a> {
    /// Claim values, a JSON object as text.
    pub claims: Option<&'a str>,
    /// Replaces the token's subject as `sub`.
    pub sub: Option<&'a str>,
}

/// `/auth/userinfo/issue`: the UserInfo response for the token's client (`client` is `None`
/// when it was deleted). Only the claims the token asked for are copied from `input.claims`.
pub fn issue(
    service: &Service,
    found: Option<&TokenRecord>,
    client: Option<&Client>,
    input: IssueInput<'_>,
    signing: IdTokenSigning<'_>,
    now: Millis,
) -> UserInfoIssueResponse {
    let t = match usable_for_userinfo(service, found, now, &ISSUE) {
        Ok(t) => t,
        Err(refusal) => return *issue_refusal(service, refusal),
    };
    let server_error = |code| {
        *issue_refusal(
            service,
            Refusal(Action::InternalServerError, "server_error", code),
        )
    };
    let Some(client) = client else {
        return server_error(A095301);
    };
    let values = match input.claims.map(serde_json::from_str::<Value>) {
        None => Map::new(),
        Some(Ok(Value::Object(map))) => map,
        Some(_) => return server_error(A094201),
    };
    let mut body = Map::new();
    // The `sub` the client knows: what the AS says, else the token's (pairwise if asked).
    let subject = match input.sub.filter(|s| !s.is_empty()) {
        Some(sub) => sub.to_owned(),
        None => subject_for(
            service,
            client,
            t.subject.as_deref().unwrap_or_default(),
            signing.subject_keys,
        ),
    };
    body.insert("sub".into(), Value::from(subject));
    for name in requested_claim_names(service, &t.scopes, t.userinfo_claims.as_deref()) {
        if let Some(value) = values.get(&name).filter(|v| !v.is_null()) {
            body.insert(name, value.clone());
        }
    }
    let alg = client.user_info_sign_alg.filter(|a| *a != JwsAlg::None);
    let Some(alg) = alg else {
        let content = Value::Object(body).to_string();
        return EnvelopeOnly {
            envelope: envelope(ISSUE_KIND, Action::Json, A096001, &[], Some(content)),
        };
    };
    // Signed responses also say who issued them and for whom (OIDC Core §5.3.2).
    body.insert(
        "iss".into(),
        Value::from(service.issuer.clone().unwrap_or_default()),
    );
    body.insert(
        "aud".into(),
        Value::from(audience(client, t.client_id_alias_used)),
    );
    body.insert("iat".into(), Value::from(now.div_euclid(1000)));
    let kid = service.user_info_signature_key_id.as_deref();
    match sign_jwt(
        service,
        kid,
        alg,
        signing.client_secret,
        &Value::Object(body),
        signing.signer,
        "JWT",
    ) {
        Ok(jwt) => EnvelopeOnly {
            envelope: envelope(ISSUE_KIND, Action::Jwt, A096001, &[], Some(jwt)),
        },
        Err(_) => server_error(A001101),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::jose::jws::verify;
    use crate::jose::{DirectSigner, JwkSet};

    const EC_KEY: &str = r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI","kid":"ec1"}"#;
    const NOW: Millis = 1_700_000_000_000;

    fn service() -> Service {
        Service {
            api_key: 7,
            issuer: Some("https://as.example.com".into()),
            jwks: Some(format!(r#"{{"keys":[{EC_KEY}]}}"#).into()),
            ..Service::default()
        }
    }

    fn record(scopes: &[&str], grant: GrantType) -> TokenRecord {
        TokenRecord {
            service_api_key: 7,
            client_id: 42,
            client_id_alias_used: false,
            subject: Some("alice".into()),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            grant_type: grant,
            grant_id: "g".into(),
            access_expires_at: NOW + 1000,
            refresh_expires_at: 0,
            properties: vec![],
            auth_time: 0,
            acr: None,
            userinfo_claims: Some(r#"{"nickname":null}"#.into()),
            created_at: NOW,
            last_refreshed_at: 0,
        }
    }

    static KEYS: std::sync::LazyLock<crate::secret::SecretKeys> =
        std::sync::LazyLock::new(|| crate::secret::SecretKeys::from_master(&[5u8; 32]));

    fn signing() -> IdTokenSigning<'static> {
        IdTokenSigning {
            signer: &DirectSigner,
            client_secret: None,
            subject_keys: &KEYS,
        }
    }

    #[test]
    fn userinfo_checks_and_the_claims_asked_for() {
        let s = service();
        let ok = userinfo(
            &s,
            "at",
            Some(&record(&["openid", "email"], GrantType::AuthorizationCode)),
            None,
            NOW,
        );
        assert_eq!(ok.envelope.action, Action::Ok);
        assert_eq!(ok.envelope.result_code, "A091001");
        assert_eq!(
            ok.fields.claims.as_deref().unwrap(),
            ["email", "email_verified", "nickname"]
        );
        assert_eq!(ok.fields.subject.as_deref(), Some("alice"));

        let code = |r: Option<&TokenRecord>| userinfo(&s, "at", r, None, NOW).envelope;
        assert_eq!(code(None).result_code, "A088302");
        let no_openid = code(Some(&record(&["email"], GrantType::AuthorizationCode)));
        assert_eq!(
            (no_openid.action, no_openid.result_code),
            (Action::Forbidden, "A089304")
        );
        assert!(
            no_openid
                .response_content
                .unwrap()
                .starts_with("Bearer error=\"insufficient_scope\"")
        );
        assert_eq!(
            code(Some(&record(&["openid"], GrantType::Password))).result_code,
            "A089306"
        );
        let mut expired = record(&["openid"], GrantType::AuthorizationCode);
        expired.access_expires_at = NOW;
        assert_eq!(code(Some(&expired)).result_code, "A089301");
        let mut other = record(&["openid"], GrantType::AuthorizationCode);
        other.service_api_key = 8;
        assert_eq!(code(Some(&other)).result_code, "A088302");
        assert_eq!(
            userinfo_token(&s, Some(" "))
                .unwrap_err()
                .envelope
                .result_code,
            "A088301"
        );
    }

    #[test]
    fn issue_copies_only_requested_claims_and_signs_when_the_client_asks() {
        let s = service();
        let t = record(&["openid", "email"], GrantType::AuthorizationCode);
        let input = IssueInput {
            claims: Some(r#"{"email":"a@example.com","nickname":"al","phone_number":"+1"}"#),
            sub: None,
        };
        let mut client = Client {
            client_id: 42,
            ..Client::default()
        };
        let json = issue(&s, Some(&t), Some(&client), input.clone(), signing(), NOW);
        assert_eq!(json.envelope.action, Action::Json);
        let body: Value =
            serde_json::from_str(json.envelope.response_content.as_deref().unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"sub":"alice","email":"a@example.com","nickname":"al"})
        );

        client.user_info_sign_alg = Some(JwsAlg::Es256);
        let jwt = issue(&s, Some(&t), Some(&client), input.clone(), signing(), NOW);
        assert_eq!(jwt.envelope.action, Action::Jwt);
        let keys = JwkSet::parse(s.jwks.as_deref().unwrap()).unwrap().public();
        let v = verify(
            jwt.envelope.response_content.as_deref().unwrap(),
            &keys,
            None,
            |_| true,
        )
        .unwrap();
        assert_eq!(v.claims["aud"], "42");
        assert_eq!(v.claims["iss"], "https://as.example.com");
        assert_eq!(v.claims["email"], "a@example.com");

        let bad = IssueInput {
            claims: Some("[1]"),
            sub: None,
        };
        let refused = issue(&s, Some(&t), Some(&client), bad, signing(), NOW);
        assert_eq!(refused.envelope.action, Action::InternalServerError);
        assert_eq!(refused.envelope.result_code, "A094201");
        let gone = issue(&s, Some(&t), None, input, signing(), NOW);
        assert_eq!(gone.envelope.result_code, "A095301");
    }
}
