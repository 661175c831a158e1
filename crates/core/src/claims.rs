//! Which end-user claims a request asks for: the scope shortcuts of OpenID Connect Core §5.4 and
//! the members of a `claims` request parameter (§5.5).

use serde_json::Value;

use crate::model::Service;

/// The claims a standard scope stands for.
pub fn scope_claims(scope: &str) -> &'static [&'static str] {
    match scope {
        "profile" => &[
            "name",
            "family_name",
            "given_name",
            "middle_name",
            "nickname",
            "preferred_username",
            "profile",
            "picture",
            "website",
            "gender",
            "birthdate",
            "zoneinfo",
            "locale",
            "updated_at",
        ],
        "email" => &["email", "email_verified"],
        "address" => &["address"],
        "phone" => &["phone_number", "phone_number_verified"],
        _ => &[],
    }
}

/// The names of the claims asked for by `scopes` and by `requested` (a JSON object such as the
/// `userinfo` member of a `claims` parameter), without duplicates and in that order. When the
/// service lists `supportedClaims`, only those are kept.
pub fn requested_claim_names(
    service: &Service,
    scopes: &[String],
    requested: Option<&str>,
) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut add = |name: &str| {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    };
    for scope in scopes {
        scope_claims(scope).iter().for_each(|c| add(c));
    }
    if let Some(Value::Object(members)) = requested.and_then(|r| serde_json::from_str(r).ok()) {
        members.keys().for_each(|c| add(c));
    }
    match service.supported_claims.as_deref() {
        Some(supported) if !supported.is_empty() => {
            names.retain(|n| supported.iter().any(|s| s == n));
            names
        }
        _ => names,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortcuts_and_requested_members_filtered_by_support() {
        let scopes = vec!["openid".to_owned(), "email".to_owned()];
        let requested = r#"{"nickname":null,"email":{"essential":true}}"#;
        let all = requested_claim_names(&Service::default(), &scopes, Some(requested));
        assert_eq!(all, ["email", "email_verified", "nickname"]);
        let service = Service {
            supported_claims: Some(vec!["email".into(), "nickname".into()]),
            ..Service::default()
        };
        assert_eq!(
            requested_claim_names(&service, &scopes, Some(requested)),
            ["email", "nickname"]
        );
        assert!(requested_claim_names(&service, &[], Some("not json")).is_empty());
    }
}
