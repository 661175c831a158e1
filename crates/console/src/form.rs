//! Form bodies (`application/x-www-form-urlencoded`), with repeated fields (checkboxes).

use crate::pages::Choice;

pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn parse(body: &[u8]) -> Fields {
        Fields(form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value of `name`, trimmed; empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.trim())
    }

    /// Every value of `name` that `parse` accepts (checkboxes of enumerated values).
    pub fn parsed<T>(&self, name: &str, parse: fn(&str) -> Option<T>) -> Vec<T> {
        self.all(name).into_iter().filter_map(parse).collect()
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// The options of a checkbox group or select: every value of `all`, those in `chosen` checked.
pub fn choices<T: Copy + PartialEq>(
    all: &[T],
    chosen: &[T],
    value: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
) -> Vec<Choice> {
    all.iter()
        .map(|&v| Choice {
            value: value(v).to_owned(),
            label: label(v).to_owned(),
            checked: chosen.contains(&v),
        })
        .collect()
}
