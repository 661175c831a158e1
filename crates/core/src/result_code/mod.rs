//! Authlete result codes: `A` + six digits, each with a message template.
//!
//! The catalogue lives in `crates/core/data/result-codes.tsv`; `generated.rs` is written from it by
//! `tools/gen_result_codes.py`, so a code used in the code base is checked by the compiler.

mod castellan;
mod generated;

pub use castellan::*;
pub use generated::*;

use std::fmt::Display;

/// One catalogue entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResultCode {
    pub code: &'static str,
    pub template: &'static str,
}

impl ResultCode {
    pub const fn new(code: &'static str, template: &'static str) -> Self {
        Self { code, template }
    }

    /// `"[Axxxxxx] "` followed by the template with its placeholders filled in order.
    ///
    /// Placeholders are `{Name}`, `{{a|b}}`, `%s` and `%d`; each takes the next argument. A
    /// placeholder with no argument left is kept as written, so a missing argument is visible
    /// rather than silently dropped.
    pub fn message(&self, args: &[&dyn Display]) -> String {
        format!("[{}] {}", self.code, self.render(args))
    }

    /// The template with its placeholders filled, without the `[code]` prefix.
    pub fn render(&self, args: &[&dyn Display]) -> String {
        let mut out = String::with_capacity(self.template.len() + 32);
        let mut args = args.iter();
        let mut rest = self.template;
        while let Some(pos) = rest.find(['{', '%']) {
            out.push_str(&rest[..pos]);
            let tail = &rest[pos..];
            let placeholder_len = placeholder_len(tail);
            match placeholder_len {
                Some(len) => {
                    match args.next() {
                        Some(arg) => push_printable(&mut out, &arg.to_string()),
                        None => out.push_str(&tail[..len]),
                    }
                    rest = &tail[len..];
                }
                None => {
                    out.push_str(&tail[..1]);
                    rest = &tail[1..];
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// Appends a value quoted in a message with its control characters written as `\u{..}`:
/// messages travel as `error_description` (RFC 6749 allows no control characters there), in
/// redirects, form_post pages and logs.
fn push_printable(out: &mut String, value: &str) {
    for c in value.chars() {
        if c.is_control() {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
}

/// Length of the placeholder at the start of `s`, if one starts there.
fn placeholder_len(s: &str) -> Option<usize> {
    if s.starts_with("%s") || s.starts_with("%d") {
        return Some(2);
    }
    if let Some(inner) = s.strip_prefix("{{") {
        return inner.find("}}").map(|end| end + 4);
    }
    if let Some(inner) = s.strip_prefix('{') {
        return inner.find('}').map(|end| end + 2);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_carry_no_control_characters() {
        let code = ResultCode::new("A000000", "The value '{Value}' is not supported.");
        assert_eq!(
            code.render(&[&"urn:\u{1}\r\nx"]),
            "The value 'urn:\\u{1}\\u{d}\\u{a}x' is not supported."
        );
    }

    #[test]
    fn renders_named_placeholders_in_order() {
        let msg = A004001.message(&[&21653835348762_i64, &26478243745571_i64, &"code", &false]);
        assert_eq!(
            msg,
            "[A004001] Authlete has successfully issued a ticket to the service (API Key = 21653835348762) for the authorization request from the client (ID = 26478243745571). [response_type=code, openid=false]"
        );
    }

    #[test]
    fn renders_choice_placeholders() {
        let msg = A145001.message(&[&"access_token", &true]);
        assert_eq!(
            msg,
            "[A145001] Introspection was performed successfully (type=access_token, active=true)."
        );
    }

    #[test]
    fn keeps_placeholder_without_argument() {
        assert_eq!(
            A048323.render(&[]),
            "No client has the client ID (%s) or the client ID alias."
        );
    }

    #[test]
    fn generated_catalogue_matches_the_tsv() {
        let tsv = include_str!("../../data/result-codes.tsv");
        let rows: Vec<(&str, &str)> = tsv
            .lines()
            .skip(1)
            .filter(|l| !l.is_empty())
            .map(|l| {
                let cols: Vec<&str> = l.split('\t').collect();
                (cols[0], cols.get(4).copied().unwrap_or(""))
            })
            .collect();
        assert_eq!(rows.len(), ALL.len(), "run tools/gen_result_codes.py");
        for ((code, template), generated) in rows.iter().zip(ALL) {
            assert_eq!(*code, generated.code);
            assert_eq!(
                *template, generated.template,
                "run tools/gen_result_codes.py"
            );
        }
    }
}
