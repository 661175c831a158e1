//! The two pages a user sees: login and consent. Their forms are a stable contract: the login
//! form posts `username` and `password`, the consent form a button `decision` with the value
//! `approve` or `deny`.

use serde_json::Value;

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
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

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <meta name=\"viewport\" content=\"width=device-width\"></head>\n<body>\n<h1>{}</h1>\n{body}\n</body></html>\n",
        escape(title),
        escape(title)
    )
}

/// The name the client registered, or its ID.
fn client_name(pending: &Value) -> String {
    let client = &pending["client"];
    client["clientName"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| client["clientId"].to_string())
}

pub fn login(pending: &Value, error: Option<&str>) -> String {
    let notice = error
        .map(|e| format!("<p role=\"alert\">{}</p>\n", escape(e)))
        .unwrap_or_default();
    let hint = pending["loginHint"].as_str().unwrap_or("");
    page(
        "Sign in",
        &format!(
            "<p>{} asks you to sign in.</p>\n{notice}<form method=\"post\" action=\"/login\">\n\
             <label>User name <input name=\"username\" value=\"{}\" autocomplete=\"username\"></label>\n\
             <label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\"></label>\n\
             <button type=\"submit\">Sign in</button>\n</form>",
            escape(&client_name(pending)),
            escape(hint)
        ),
    )
}

/// `reference` ties the form to the request it shows (a hidden `request` field).
pub fn consent(pending: &Value, subject: &str, reference: &str) -> String {
    let scopes: String = pending["scopes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let name = s["name"].as_str().unwrap_or("");
            let description = s["description"].as_str().unwrap_or("");
            format!("<li><b>{}</b> {}</li>\n", escape(name), escape(description))
        })
        .collect();
    page(
        "Allow access?",
        &format!(
            "<p>Signed in as {}. {} asks for:</p>\n<ul>\n{scopes}</ul>\n\
             <form method=\"post\" action=\"/consent\">\n\
             <input type=\"hidden\" name=\"request\" value=\"{}\">\n\
             <button type=\"submit\" name=\"decision\" value=\"approve\">Allow</button>\n\
             <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\n</form>",
            escape(subject),
            escape(&client_name(pending)),
            escape(reference)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_controlled_text_is_escaped() {
        let pending = serde_json::json!({
            "client": {"clientName": "<script>x</script>"},
            "loginHint": "\"><b>",
            "scopes": [{"name": "openid", "description": "<i>"}]
        });
        let login = login(&pending, Some("<bad>"));
        assert!(
            !login.contains("<script>") && !login.contains("\"><b>") && !login.contains("<bad>")
        );
        assert!(login.contains("name=\"username\"") && login.contains("name=\"password\""));
        let consent = consent(&pending, "a&b", "r\"1");
        assert!(consent.contains("name=\"request\" value=\"r&quot;1\""));
        assert!(consent.contains("a&amp;b") && !consent.contains("<i>"));
        assert!(consent.contains("value=\"approve\"") && consent.contains("value=\"deny\""));
    }
}
