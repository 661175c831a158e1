//! Where an authorization response goes, and how `LOCATION` / `FORM` replies are built.

use crate::enums::{Action, ResponseMode};
use crate::envelope::envelope_with_message;
use crate::model::Service;
use crate::response::{OAuthError, form_post_html, redirect_url};
use crate::wire::{AuthorizationResponse, Envelope};

#[derive(Clone, Debug)]
pub struct RedirectTarget {
    pub redirect_uri: String,
    pub response_mode: ResponseMode,
    pub state: Option<String>,
}

impl RedirectTarget {
    /// `state` first, the response parameters, then `iss` (RFC 9207) unless suppressed.
    fn with_state_and_iss(
        &self,
        service: &Service,
        body: Vec<(&'static str, String)>,
        state_first: bool,
    ) -> Vec<(&'static str, String)> {
        let mut out = Vec::with_capacity(body.len() + 2);
        if state_first {
            out.extend(self.state.iter().map(|s| ("state", s.clone())));
            out.extend(body);
        } else {
            out.extend(body);
            out.extend(self.state.iter().map(|s| ("state", s.clone())));
        }
        if !service.iss_suppressed
            && let Some(iss) = service.issuer.as_deref().filter(|i| !i.is_empty())
        {
            out.push(("iss", iss.to_owned()));
        }
        out
    }

    /// The `action` and `responseContent` that deliver `params` to the client.
    fn deliver(&self, params: &[(&'static str, String)]) -> (Action, String) {
        match self.response_mode {
            ResponseMode::FormPost | ResponseMode::FormPostJwt => {
                (Action::Form, form_post_html(&self.redirect_uri, params))
            }
            mode => (
                Action::Location,
                redirect_url(&self.redirect_uri, mode, params),
            ),
        }
    }

    /// A successful authorization response carrying `body` (e.g. `code`).
    pub fn success(
        &self,
        service: &Service,
        body: Vec<(&'static str, String)>,
    ) -> (Action, String) {
        self.deliver(&self.with_state_and_iss(service, body, true))
    }

    /// An error redirected to the client.
    pub fn error_content(&self, service: &Service, err: &OAuthError) -> (Action, String) {
        self.deliver(&self.with_state_and_iss(service, err.params(service), false))
    }

    pub fn error_envelope(
        &self,
        service: &Service,
        kind: &'static str,
        err: OAuthError,
    ) -> Envelope {
        let (action, content) = self.error_content(service, &err);
        envelope_with_message(kind, action, err.code, err.message, Some(content))
    }

    pub fn authorization_error(
        &self,
        service: &Service,
        kind: &'static str,
        err: OAuthError,
    ) -> AuthorizationResponse {
        AuthorizationResponse::bare(self.error_envelope(service, kind, err))
    }
}
