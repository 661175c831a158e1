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

/// How many values a space-separated list (scope, prompt, acr_values, ui_locales,
/// claims_locales) may hold, counting repeats, and how long one value may be. A longer list is
/// refused with `invalid_request` before any work that grows with its size.
pub const MAX_LIST_VALUES: usize = 256;
pub const MAX_LIST_VALUE_LEN: usize = 512;

/// A space-separated list beyond [`MAX_LIST_VALUES`] or with a value beyond
/// [`MAX_LIST_VALUE_LEN`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListTooLong;

/// Splits a space-separated list (scope, prompt, ui_locales, acr_values), dropping empty items
/// and repeats while keeping the first occurrence's order. Linear in the input: repeats are
/// found with a hash set, and the caps are checked while splitting.
pub fn split_list(value: &str) -> Result<Vec<String>, ListTooLong> {
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<String> = Vec::new();
    for (count, item) in value.split(' ').filter(|s| !s.is_empty()).enumerate() {
        if count >= MAX_LIST_VALUES || item.len() > MAX_LIST_VALUE_LEN {
            return Err(ListTooLong);
        }
        if seen.insert(item) {
            out.push(item.to_owned());
        }
    }
    Ok(out)
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
        assert_eq!(
            split_list(" a  b a c "),
            Ok(vec!["a".into(), "b".into(), "c".into()])
        );
        assert_eq!(split_list(""), Ok(vec![]));
    }

    #[test]
    fn lists_have_caps() {
        let at_cap = vec!["s"; MAX_LIST_VALUES].join(" ");
        assert_eq!(split_list(&at_cap), Ok(vec!["s".to_owned()]));
        let over = vec!["s"; MAX_LIST_VALUES + 1].join(" ");
        assert_eq!(split_list(&over), Err(ListTooLong));
        // Extra spaces are not values.
        let spaced = format!("{at_cap}{}", " ".repeat(10_000));
        assert!(split_list(&spaced).is_ok());
        assert!(split_list(&"x".repeat(MAX_LIST_VALUE_LEN)).is_ok());
        assert_eq!(
            split_list(&"x".repeat(MAX_LIST_VALUE_LEN + 1)),
            Err(ListTooLong)
        );
    }

    #[test]
    fn a_huge_list_is_refused() {
        // 100,000 distinct values: the request that used to freeze a worker for seconds.
        let huge: String = (0..100_000).map(|i| format!("s{i} ")).collect();
        assert_eq!(split_list(&huge), Err(ListTooLong));
    }
}
