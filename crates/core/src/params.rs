//! The `parameters` string of Authlete's protocol APIs: an `application/x-www-form-urlencoded`
//! body or query string as the client sent it to the authorization server.

/// Parsed parameters, in their original order, repeats kept (so repeats can be reported).
#[derive(Clone, Debug, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

/// A parameter that appeared more than once (RFC 6749 §3.1: parameters MUST NOT repeat).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repeated;

impl Params {
    pub fn parse(raw: &str) -> Self {
        let raw = raw.strip_prefix('?').unwrap_or(raw);
        let pairs = form_urlencoded::parse(raw.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Self { pairs }
    }

    /// True when no parameter with a name was given.
    pub fn is_empty(&self) -> bool {
        self.pairs.iter().all(|(k, _)| k.is_empty())
    }

    /// The value of a parameter that may appear at most once.
    pub fn single(&self, name: &str) -> Result<Option<&str>, Repeated> {
        let mut found = None;
        for (k, v) in &self.pairs {
            if k == name {
                if found.is_some() {
                    return Err(Repeated);
                }
                found = Some(v.as_str());
            }
        }
        Ok(found)
    }

    /// Like [`Params::single`], treating an empty value as absent (RFC 6749 §3.1).
    pub fn single_non_empty(&self, name: &str) -> Result<Option<&str>, Repeated> {
        Ok(self.single(name)?.filter(|v| !v.is_empty()))
    }

    pub fn contains(&self, name: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k == name)
    }
}

/// Splits a space-separated list (scope, prompt, ui_locales, acr_values), dropping empty items
/// and repeats while keeping the first occurrence's order.
pub fn split_list(value: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in value.split(' ').filter(|s| !s.is_empty()) {
        if !out.iter().any(|x| x == item) {
            out.push(item.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_detects_repeats() {
        let p = Params::parse("response_type=code&client_id=1&scope=a+b&state=x%20y&scope=c");
        assert_eq!(p.single("response_type"), Ok(Some("code")));
        assert_eq!(p.single("state"), Ok(Some("x y")));
        assert_eq!(p.single("scope"), Err(Repeated));
        assert_eq!(p.single("nonce"), Ok(None));
        assert!(!p.is_empty());
        assert!(Params::parse("").is_empty());
        assert!(Params::parse("&&").is_empty());
    }

    #[test]
    fn invalid_utf8_and_bad_escapes_do_not_fail() {
        let p = Params::parse("a=%ff%fe&b=%zz");
        assert!(p.single("a").is_ok());
        assert_eq!(p.single("b"), Ok(Some("%zz")));
    }

    #[test]
    fn lists() {
        assert_eq!(split_list(" a  b a c "), vec!["a", "b", "c"]);
    }
}
