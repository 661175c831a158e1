//! Builders for `responseContent`: error JSON, redirect URLs, form_post pages, token JSON and
//! `WWW-Authenticate` values.

use std::fmt::Write;

use serde_json::{Map, Value};

use crate::enums::ResponseMode;
use crate::model::Service;
use crate::result_code::ResultCode;

/// An OAuth error to report: the OAuth `error` code and the Authlete result code explaining it.
#[derive(Clone, Debug)]
pub struct OAuthError {
    pub error: &'static str,
    pub code: ResultCode,
    /// `resultMessage`: `"[Axxxxxx] ..."`.
    pub message: String,
    /// Replaces `message` as `error_description` (the `description` of `/auth/authorization/fail`).
    pub description_override: Option<String>,
}

impl OAuthError {
    pub fn new(error: &'static str, code: ResultCode, args: &[&dyn std::fmt::Display]) -> Self {
        Self {
            error,
            code,
            message: code.message(args),
            description_override: None,
        }
    }

    pub fn description(&self) -> &str {
        self.description_override
            .as_deref()
            .unwrap_or(&self.message)
    }

    pub fn uri(&self) -> String {
        format!("https://docs.authlete.com/#{}", self.code.code)
    }

    /// The parameters of an error response, honouring the service's omission flags.
    pub fn params(&self, service: &Service) -> Vec<(&'static str, String)> {
        let mut out = vec![("error", self.error.to_owned())];
        if !service.error_description_omitted {
            out.push(("error_description", self.description().to_owned()));
        }
        if !service.error_uri_omitted {
            out.push(("error_uri", self.uri()));
        }
        out
    }

    /// `{"error_description":…,"error":…,"error_uri":…}` — Authlete 2.x member order.
    pub fn to_json(&self, service: &Service) -> String {
        let mut map = Map::new();
        if !service.error_description_omitted {
            map.insert("error_description".into(), Value::from(self.description()));
        }
        map.insert("error".into(), Value::from(self.error));
        if !service.error_uri_omitted {
            map.insert("error_uri".into(), Value::from(self.uri()));
        }
        Value::Object(map).to_string()
    }

    /// `Bearer error="…",error_description="…",error_uri="…"[,scope="…"]`.
    pub fn www_authenticate(&self, service: &Service, scope: Option<&str>) -> String {
        let mut out = format!("Bearer error=\"{}\"", self.error);
        if !service.error_description_omitted {
            let _ = write!(
                out,
                ",error_description=\"{}\"",
                quote_safe(self.description())
            );
        }
        if !service.error_uri_omitted {
            let _ = write!(out, ",error_uri=\"{}\"", self.uri());
        }
        if let Some(scope) = scope {
            let _ = write!(out, ",scope=\"{}\"", quote_safe(scope));
        }
        out
    }
}

/// Keeps a value inside an RFC 7235 quoted-string: drops `"` and `\` and control characters.
fn quote_safe(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
        .collect()
}

/// Appends `params` to `base` as a query or a fragment.
pub fn redirect_url(base: &str, mode: ResponseMode, params: &[(&str, String)]) -> String {
    let mut encoder = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        encoder.append_pair(k, v);
    }
    let encoded = encoder.finish();
    let fragment = matches!(mode, ResponseMode::Fragment | ResponseMode::FragmentJwt);
    if fragment {
        format!("{base}#{encoded}")
    } else if base.contains('?') {
        if base.ends_with('?') || base.ends_with('&') {
            format!("{base}{encoded}")
        } else {
            format!("{base}&{encoded}")
        }
    } else {
        format!("{base}?{encoded}")
    }
}

/// An HTML page that POSTs `params` to `action` as soon as it loads (OAuth 2.0 Form Post
/// Response Mode).
pub fn form_post_html(action: &str, params: &[(&str, String)]) -> String {
    let mut html = String::from(
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"UTF-8\">\n<title>Submit This Form</title>\n</head>\n\
         <body onload=\"javascript:document.forms[0].submit()\">\n",
    );
    let _ = writeln!(
        html,
        "<form method=\"post\" action=\"{}\">",
        html_escape(action)
    );
    for (k, v) in params {
        let _ = writeln!(
            html,
            "<input type=\"hidden\" name=\"{}\" value=\"{}\"/>",
            html_escape(k),
            html_escape(v)
        );
    }
    html.push_str("<noscript><input type=\"submit\" value=\"Continue\"/></noscript>\n</form>\n</body>\n</html>\n");
    html
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The RFC 6749 §5.1 token response, in Authlete's member order.
pub fn token_json(
    access_token: &str,
    refresh_token: Option<&str>,
    scopes: &[String],
    token_type: &str,
    expires_in: i64,
    id_token: Option<&str>,
) -> String {
    let mut map = Map::new();
    map.insert("access_token".into(), Value::from(access_token));
    if let Some(rt) = refresh_token {
        map.insert("refresh_token".into(), Value::from(rt));
    }
    map.insert(
        "scope".into(),
        if scopes.is_empty() {
            Value::Null
        } else {
            Value::from(scopes.join(" "))
        },
    );
    map.insert("token_type".into(), Value::from(token_type));
    map.insert("expires_in".into(), Value::from(expires_in));
    if let Some(id_token) = id_token {
        map.insert("id_token".into(), Value::from(id_token));
    }
    Value::Object(map).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result_code::A004201;

    #[test]
    fn error_json_member_order_and_omission() {
        let e = OAuthError::new("invalid_request", A004201, &[]);
        let mut s = Service::default();
        assert_eq!(
            e.to_json(&s),
            r#"{"error_description":"[A004201] The authorization request from the service does not contain 'parameters' parameter.","error":"invalid_request","error_uri":"https://docs.authlete.com/#A004201"}"#
        );
        s.error_description_omitted = true;
        s.error_uri_omitted = true;
        assert_eq!(e.to_json(&s), r#"{"error":"invalid_request"}"#);
    }

    #[test]
    fn redirects() {
        let p = [
            ("code", "a b".to_owned()),
            ("iss", "https://as.example".to_owned()),
        ];
        assert_eq!(
            redirect_url("https://c.example/cb", ResponseMode::Query, &p),
            "https://c.example/cb?code=a+b&iss=https%3A%2F%2Fas.example"
        );
        assert_eq!(
            redirect_url("https://c.example/cb?x=1", ResponseMode::Query, &p[..1]),
            "https://c.example/cb?x=1&code=a+b"
        );
        assert_eq!(
            redirect_url("https://c.example/cb", ResponseMode::Fragment, &p[..1]),
            "https://c.example/cb#code=a+b"
        );
    }

    #[test]
    fn form_post_escapes() {
        let html = form_post_html(
            "https://c.example/cb?a=1&b=\"2\"",
            &[("state", "<script>".to_owned())],
        );
        assert!(html.contains("action=\"https://c.example/cb?a=1&amp;b=&quot;2&quot;\""));
        assert!(html.contains("value=\"&lt;script&gt;\""));
        assert!(html.contains("method=\"post\""));
    }

    #[test]
    fn token_json_shape() {
        assert_eq!(
            token_json("at", Some("rt"), &[], "Bearer", 86400, None),
            r#"{"access_token":"at","refresh_token":"rt","scope":null,"token_type":"Bearer","expires_in":86400}"#
        );
    }
}
