//! Token lifetimes (Authlete 2.x rules): the service's value, lowered by the smallest
//! per-scope `access_token.duration` / `refresh_token.duration` attribute, lowered by the
//! client's extension value; an explicit value in the API call replaces all of that.

use crate::model::{Client, MAX_TOKEN_DURATION_SECONDS, Service};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifetimes {
    /// Seconds.
    pub access: i64,
    /// Seconds.
    pub refresh: i64,
}

impl Lifetimes {
    pub fn compute(
        service: &Service,
        client: &Client,
        scopes: &[String],
        access_override: i64,
        refresh_override: i64,
    ) -> Self {
        let ext = client.extension.as_ref();
        let access = lowered(
            service.access_token_duration(),
            scope_minimum(service, scopes, "access_token.duration"),
            ext.map(|e| e.access_token_duration).unwrap_or(0),
        );
        let refresh = lowered(
            service.refresh_token_duration(),
            scope_minimum(service, scopes, "refresh_token.duration"),
            ext.map(|e| e.refresh_token_duration).unwrap_or(0),
        );
        let chosen = |override_value: i64, computed: i64| {
            let value = if override_value > 0 {
                override_value
            } else {
                computed
            };
            value.min(MAX_TOKEN_DURATION_SECONDS)
        };
        Self {
            access: chosen(access_override, access),
            refresh: chosen(refresh_override, refresh),
        }
    }
}

fn lowered(base: i64, scope_min: Option<i64>, client_value: i64) -> i64 {
    let mut value = base;
    if let Some(s) = scope_min {
        value = value.min(s);
    }
    if client_value > 0 {
        value = value.min(client_value);
    }
    value
}

fn scope_minimum(service: &Service, scopes: &[String], attribute: &str) -> Option<i64> {
    scopes
        .iter()
        .filter_map(|name| service.scope(name))
        .filter_map(|s| s.attribute(attribute))
        .filter_map(|v| v.trim().parse::<i64>().ok())
        .filter(|v| *v > 0)
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ClientExtension, Pair, Scope};

    #[test]
    fn scope_and_client_lower_the_service_value() {
        let mut service = Service {
            access_token_duration: 3600,
            refresh_token_duration: 86400,
            ..Service::default()
        };
        service.supported_scopes = Some(vec![
            Scope {
                name: Some("short".into()),
                attributes: Some(vec![Pair {
                    key: Some("access_token.duration".into()),
                    value: Some("600".into()),
                }]),
                ..Scope::default()
            },
            Scope {
                name: Some("plain".into()),
                ..Scope::default()
            },
        ]);
        let mut client = Client::default();
        assert_eq!(
            Lifetimes::compute(&service, &client, &["plain".into()], 0, 0).access,
            3600
        );
        assert_eq!(
            Lifetimes::compute(&service, &client, &["plain".into(), "short".into()], 0, 0).access,
            600
        );
        client.extension = Some(ClientExtension {
            access_token_duration: 300,
            ..ClientExtension::default()
        });
        assert_eq!(
            Lifetimes::compute(&service, &client, &["short".into()], 0, 0).access,
            300
        );
        assert_eq!(
            Lifetimes::compute(&service, &client, &["short".into()], 7200, 0).access,
            7200
        );
        assert_eq!(
            Lifetimes::compute(&service, &client, &[], 0, 0).refresh,
            86400
        );
    }
}
