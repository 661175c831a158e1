//! The reference authorization server's only link to Castellan: JSON over HTTP with the
//! service's API key and secret, exactly as an authorization server calls Authlete.

use serde_json::Value;

#[derive(Clone)]
pub struct Castellan {
    http: reqwest::Client,
    base: String,
    api_key: String,
    api_secret: String,
}

impl Castellan {
    pub fn new(base: &str, api_key: &str, api_secret: &str) -> Self {
        Self {
            // Castellan answers the JWK Set call with a redirect when the service has no keys
            // but a jwksUri, which may well be this server's own /jwks: never follow it.
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
            base: base.trim_end_matches('/').to_owned(),
            api_key: api_key.to_owned(),
            api_secret: api_secret.to_owned(),
        }
    }

    /// POSTs `body` to `path` and returns the JSON reply.
    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let request = self.http.post(format!("{}{path}", self.base)).json(body);
        Ok(serde_json::from_str(&self.send(path, request).await?)?)
    }

    /// GETs `path` and returns the body as text (the JWK Set and discovery documents).
    pub async fn get_text(&self, path: &str) -> anyhow::Result<String> {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(path, request).await
    }

    /// Sends with the service's credentials; a non-2xx answer is an error.
    async fn send(&self, path: &str, request: reqwest::RequestBuilder) -> anyhow::Result<String> {
        let reply = request
            .basic_auth(&self.api_key, Some(&self.api_secret))
            .send()
            .await?;
        let status = reply.status();
        let text = reply.text().await?;
        // 204 (no keys, no jwksUri) and 3xx are failures for a caller that needs a document.
        if status != reqwest::StatusCode::OK {
            anyhow::bail!("{path} answered {status}: {text}");
        }
        Ok(text)
    }
}
