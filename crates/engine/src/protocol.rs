//! The protocol operations: load, let the core decide, write once.

use std::sync::Arc;

use castellan_core::client_lookup::{ClientLookup, identifier_as_id};
use castellan_core::id_token::IdTokenSigning;
use castellan_core::jwt_access_token;
use castellan_core::model::Service;
use castellan_core::records::TokenRecord;
use castellan_core::records::{AuthorizationTicket, TicketKind, TokenTicket};
use castellan_core::secret::SecretHash;
use castellan_core::store_ops::TokenWrite;
use castellan_core::token::{CodeGrant, GrantOutcome, RefreshGrant};
use castellan_core::wire::*;
use castellan_core::{
    authorization, authorization_issue, introspection, revocation, token, userinfo,
};
use castellan_store::{
    ClientRecord, Redemption, RefreshLookup, Rotation, TicketIssues, TokenHashes,
};

use crate::system::SystemEntropy;
use crate::{Engine, EngineResult};

impl Engine {
    /// Finds a client by numeric ID, then by alias when the service enables aliases. Returns
    /// the client's sealed secret beside it, opened only by the callers that authenticate.
    async fn lookup_client(
        &self,
        service: &Service,
        identifier: &str,
    ) -> EngineResult<(ClientLookup, Option<String>)> {
        let found = |record: Arc<ClientRecord>, alias_used: bool| {
            let lookup = ClientLookup::Found {
                client: Box::new(record.client.clone()),
                alias_used,
            };
            (lookup, Some(record.sealed_secret.clone()))
        };
        if let Some(id) = identifier_as_id(identifier)
            && let Some(record) = self.cached_client(service.api_key, id).await?
        {
            return Ok(found(record, false));
        }
        if service.client_id_alias_enabled
            && let Some(record) = self
                .cached_client_by_alias(service.api_key, identifier)
                .await?
        {
            if !record.client.client_id_alias_enabled {
                return Ok((ClientLookup::AliasNotEnabled, None));
            }
            return Ok(found(record, true));
        }
        Ok((ClientLookup::NotFound, None))
    }

    /// What the core needs to sign for a client (`client_secret` keys its HS* algorithms).
    fn signing<'a>(&'a self, client_secret: Option<&'a str>) -> IdTokenSigning<'a> {
        IdTokenSigning {
            signer: &self.signer,
            client_secret,
            subject_keys: &self.keys,
        }
    }

    /// The storage hash of a presented token: of the token itself, or of the opaque value a
    /// JWT access token of this service stands for (its `jti`).
    fn presented_hash(&self, service: &Service, presented: &str) -> SecretHash {
        let opaque = jwt_access_token::opaque_value(service, presented, &self.signer);
        self.keys.hash(opaque.as_deref().unwrap_or(presented))
    }

    fn open_secret(&self, sealed: Option<&str>) -> Option<String> {
        sealed.and_then(|s| self.keys.open(s))
    }

    fn hashes(&self, access: &str, refresh: Option<&str>) -> TokenHashes {
        TokenHashes {
            access: self.keys.hash(access),
            refresh: refresh.map(|r| self.keys.hash(r)),
        }
    }

    // ----- authorization ------------------------------------------------------------------

    pub async fn authorization(
        &self,
        service: &Service,
        req: AuthorizationRequest,
    ) -> EngineResult<AuthorizationResponse> {
        let begun = match authorization::begin(service, req.parameters.as_deref()) {
            Ok(b) => b,
            Err(response) => return Ok(*response),
        };
        let (lookup, sealed) = self
            .lookup_client(service, &begun.client_identifier)
            .await?;
        // The secret verifies an HS*-signed id_token_hint; opened only when there is one.
        let secret = if begun.has_id_token_hint() {
            self.open_secret(sealed.as_deref())
        } else {
            None
        };
        let decision = authorization::decide(
            service,
            begun,
            lookup,
            secret.as_deref(),
            self.now(),
            &mut SystemEntropy,
        );
        if let Some(ticket) = decision.ticket {
            let data = serde_json::to_string(&ticket.record).unwrap_or_default();
            let hash = self.keys.hash(&ticket.value);
            self.store
                .put_ticket(
                    TicketKind::Authorization,
                    &hash,
                    service.api_key,
                    &data,
                    ticket.record.expires_at,
                )
                .await?;
        }
        Ok(decision.response)
    }

    /// Uses up one of the service's tickets; another service's ticket is not found.
    async fn take_ticket<T: serde::de::DeserializeOwned>(
        &self,
        service: &Service,
        kind: TicketKind,
        value: &str,
    ) -> EngineResult<Option<T>> {
        let taken = self
            .store
            .take_ticket(kind, &self.keys.hash(value), service.api_key)
            .await?;
        Ok(taken.and_then(|t| serde_json::from_str(&t.data).ok()))
    }

    pub async fn authorization_issue(
        &self,
        service: &Service,
        req: AuthorizationIssueRequest,
    ) -> EngineResult<AuthorizationIssueResponse> {
        let call = match authorization_issue::check_issue(service, req) {
            Ok(c) => c,
            Err(response) => return Ok(*response),
        };
        // Read the ticket, decide, then use it up and store the code in one write. If a
        // concurrent call used the ticket in between, answer as for an unknown ticket.
        let kind = TicketKind::Authorization;
        let ticket_hash = self.keys.hash(&call.ticket);
        let ticket: Option<AuthorizationTicket> = self
            .store
            .get_ticket(kind, &ticket_hash, service.api_key)
            .await?
            .and_then(|t| serde_json::from_str(&t.data).ok());
        let unknown_ticket = |call| {
            let signing = self.signing(None);
            authorization_issue::issue(
                service,
                call,
                None,
                None,
                signing,
                self.now(),
                &mut SystemEntropy,
            )
            .response
        };
        let Some(ticket) = ticket else {
            return Ok(unknown_ticket(call));
        };
        // The client's settings (and its secret, for HS* ID tokens) matter only when tokens are
        // issued here; a code alone needs neither.
        let response_type = ticket.response_type;
        let client = if response_type.has_token() || response_type.has_id_token() {
            self.cached_client(service.api_key, ticket.client_id)
                .await?
        } else {
            None
        };
        let secret = match &client {
            Some(c) if response_type.has_id_token() => self.open_secret(Some(&c.sealed_secret)),
            _ => None,
        };
        let signing = self.signing(secret.as_deref());
        let retry = call.clone();
        let decision = authorization_issue::issue(
            service,
            call,
            Some(ticket),
            client.as_ref().map(|c| &c.client),
            signing,
            self.now(),
            &mut SystemEntropy,
        );
        let code_hash = decision.code.as_ref().map(|c| self.keys.hash(&c.value));
        let token_hashes = decision.token.as_ref().map(|t| self.hashes(&t.value, None));
        let issued = TicketIssues {
            code: code_hash
                .as_ref()
                .zip(decision.code.as_ref().map(|c| &c.record)),
            token: token_hashes
                .as_ref()
                .zip(decision.token.as_ref().map(|t| &t.record)),
        };
        if !self
            .store
            .use_ticket(kind, &ticket_hash, service.api_key, issued)
            .await?
        {
            return Ok(unknown_ticket(retry));
        }
        Ok(decision.response)
    }

    pub async fn authorization_fail(
        &self,
        service: &Service,
        req: AuthorizationFailRequest,
    ) -> EngineResult<EnvelopeOnly> {
        let call = match authorization_issue::check_fail(service, req) {
            Ok(c) => c,
            Err(response) => return Ok(*response),
        };
        let ticket: Option<AuthorizationTicket> = self
            .take_ticket(service, TicketKind::Authorization, &call.ticket)
            .await?;
        Ok(authorization_issue::fail(service, call, ticket, self.now()))
    }

    // ----- token --------------------------------------------------------------------------

    pub async fn token(&self, service: &Service, req: TokenRequest) -> EngineResult<TokenResponse> {
        let mut begun = match token::begin(service, req) {
            Ok(b) => b,
            Err(response) => return Ok(*response),
        };
        if begun.client_id_missing {
            let issued_to = self.client_of_presented_grant(service, &begun).await?;
            if let Err(response) = token::infer_client(service, &mut begun, issued_to) {
                return Ok(*response);
            }
        }
        let (lookup, sealed) = self
            .lookup_client(service, &begun.client_identifier)
            .await?;
        let secret = self.open_secret(sealed.as_deref());
        let client = match token::authenticate(service, &begun, lookup, secret.as_deref()) {
            Ok(c) => c,
            Err(response) => return Ok(*response),
        };
        let now = self.now();
        let outcome = match begun.grant_type {
            castellan_core::enums::GrantType::AuthorizationCode => {
                let found = match token::code_param(service, &begun) {
                    Ok(code) => {
                        self.store
                            .get_code(&self.keys.hash(code))
                            .await?
                            .map(|s| CodeGrant {
                                code: s.code,
                                used: s.used,
                            })
                    }
                    Err(_) => None,
                };
                let signing = self.signing(secret.as_deref());
                token::authorization_code(
                    service,
                    &begun,
                    &client,
                    found,
                    now,
                    &mut SystemEntropy,
                    signing,
                )
            }
            castellan_core::enums::GrantType::RefreshToken => {
                let found = match token::refresh_param(service, &begun) {
                    Ok(rt) => match self.store.get_token_by_refresh(&self.keys.hash(rt)).await? {
                        RefreshLookup::Live(record) => RefreshGrant::Live(record),
                        RefreshLookup::Retired {
                            service_api_key,
                            client_id,
                            grant_id,
                        } => RefreshGrant::Retired {
                            service_api_key,
                            client_id,
                            grant_id,
                        },
                        RefreshLookup::Unknown => RefreshGrant::Unknown,
                    },
                    Err(_) => RefreshGrant::Unknown,
                };
                token::refresh_token(
                    service,
                    &begun,
                    &client,
                    found,
                    now,
                    &mut SystemEntropy,
                    self.signing(secret.as_deref()),
                )
            }
            castellan_core::enums::GrantType::ClientCredentials => token::client_credentials(
                service,
                &begun,
                &client,
                now,
                &mut SystemEntropy,
                self.signing(secret.as_deref()),
            ),
            _ => token::password(service, &begun, &client, now, &mut SystemEntropy),
        };
        self.apply_grant_outcome(service, outcome).await
    }

    async fn apply_grant_outcome(
        &self,
        service: &Service,
        outcome: GrantOutcome,
    ) -> EngineResult<TokenResponse> {
        match outcome {
            GrantOutcome::Reply(response) => Ok(*response),
            GrantOutcome::RevokeGrant { response, grant_id } => {
                let revoked = self.store.revoke_grant(service.api_key, &grant_id).await?;
                tracing::warn!(
                    service = service.api_key,
                    revoked,
                    "replayed code or refresh token: grant revoked"
                );
                Ok(*response)
            }
            GrantOutcome::Write { response, write } => match *write {
                TokenWrite::Insert {
                    access,
                    refresh,
                    record,
                    exclusive,
                } => {
                    self.store
                        .insert_token(
                            &self.hashes(&access, refresh.as_deref()),
                            &record,
                            exclusive,
                        )
                        .await?;
                    Ok(*response)
                }
                TokenWrite::RedeemCode {
                    code,
                    access,
                    refresh,
                    record,
                    grant_id,
                    exclusive,
                } => {
                    let hashes = self.hashes(&access, refresh.as_deref());
                    match self
                        .store
                        .redeem_code(&self.keys.hash(&code), &hashes, &record, exclusive)
                        .await?
                    {
                        Redemption::Redeemed => Ok(*response),
                        Redemption::AlreadyUsed | Redemption::NotFound => {
                            // Lost a race with another redemption of the same code: a replay.
                            self.store.revoke_grant(service.api_key, &grant_id).await?;
                            Ok(token::code_replayed(service))
                        }
                    }
                }
                TokenWrite::Rotate {
                    old_refresh,
                    access,
                    refresh,
                    record,
                } => {
                    let hashes = self.hashes(&access, refresh.as_deref());
                    match self
                        .store
                        .rotate_refresh(&self.keys.hash(&old_refresh), &hashes, &record)
                        .await?
                    {
                        Rotation::Rotated => Ok(*response),
                        Rotation::Gone => {
                            self.store
                                .revoke_grant(service.api_key, &record.grant_id)
                                .await?;
                            Ok(token::refresh_token_replayed(service))
                        }
                    }
                }
                TokenWrite::PutTokenTicket { ticket, record } => {
                    let data = serde_json::to_string(&record).unwrap_or_default();
                    self.store
                        .put_ticket(
                            TicketKind::Token,
                            &self.keys.hash(&ticket),
                            service.api_key,
                            &data,
                            record.expires_at,
                        )
                        .await?;
                    Ok(*response)
                }
            },
        }
    }

    /// The client the presented authorization code or refresh token was issued to.
    async fn client_of_presented_grant(
        &self,
        service: &Service,
        begun: &token::Begun,
    ) -> EngineResult<Option<i64>> {
        use castellan_core::enums::GrantType;
        Ok(match begun.grant_type {
            GrantType::AuthorizationCode => match token::code_param(service, begun) {
                // Another service's code or refresh token names no client here, so it is
                // answered as an unknown one.
                Ok(code) => self
                    .store
                    .get_code(&self.keys.hash(code))
                    .await?
                    .filter(|s| s.code.service_api_key == service.api_key)
                    .map(|s| s.code.client_id),
                Err(_) => None,
            },
            GrantType::RefreshToken => match token::refresh_param(service, begun) {
                Ok(rt) => match self.store.get_token_by_refresh(&self.keys.hash(rt)).await? {
                    RefreshLookup::Live(record) if record.service_api_key == service.api_key => {
                        Some(record.client_id)
                    }
                    RefreshLookup::Retired {
                        service_api_key,
                        client_id,
                        ..
                    } if service_api_key == service.api_key => Some(client_id),
                    _ => None,
                },
                Err(_) => None,
            },
            _ => None,
        })
    }

    pub async fn token_issue(
        &self,
        service: &Service,
        req: TokenIssueRequest,
    ) -> EngineResult<TokenResponse> {
        let call = match token::check_issue(service, req) {
            Ok(c) => c,
            Err(response) => return Ok(*response),
        };
        let ticket: Option<TokenTicket> = self
            .take_ticket(service, TicketKind::Token, &call.ticket)
            .await?;
        let client = match &ticket {
            Some(t) => self.cached_client(service.api_key, t.client_id).await?,
            None => None,
        };
        let outcome = token::issue(
            service,
            call,
            ticket,
            client.as_ref().map(|r| r.client.clone()),
            self.now(),
            &mut SystemEntropy,
            self.signing(None),
        );
        self.apply_grant_outcome(service, outcome).await
    }

    pub async fn token_fail(
        &self,
        service: &Service,
        req: TokenFailRequest,
    ) -> EngineResult<TokenResponse> {
        let call = match token::check_fail(service, req) {
            Ok(c) => c,
            Err(response) => return Ok(*response),
        };
        let ticket: Option<TokenTicket> = self
            .take_ticket(service, TicketKind::Token, &call.ticket)
            .await?;
        Ok(token::fail(service, call, ticket, self.now()))
    }

    // ----- introspection and revocation ---------------------------------------------------

    pub async fn introspection(
        &self,
        service: &Service,
        req: IntrospectionRequest,
    ) -> EngineResult<IntrospectionResponse> {
        let call = match introspection::check(service, req) {
            Ok(c) => c,
            Err(response) => return Ok(*response),
        };
        let found = self
            .store
            .get_token_by_access(&self.presented_hash(service, &call.token))
            .await?;
        let client = match &found {
            Some(t) => self.cached_client(service.api_key, t.client_id).await?,
            None => None,
        };
        let alias = client
            .as_ref()
            .and_then(|c| c.client.client_id_alias.as_deref());
        Ok(introspection::introspect(
            service,
            &call,
            found,
            alias,
            self.now(),
        ))
    }

    /// The token record for an access token and the client it was issued to, when both
    /// belong to the service.
    async fn token_and_client(
        &self,
        service: &Service,
        token: &str,
    ) -> EngineResult<(Option<TokenRecord>, Option<Arc<ClientRecord>>)> {
        let found = self
            .store
            .get_token_by_access(&self.presented_hash(service, token))
            .await?;
        let client = match &found {
            Some(t) if t.service_api_key == service.api_key => {
                self.cached_client(service.api_key, t.client_id).await?
            }
            _ => None,
        };
        Ok((found, client))
    }

    pub async fn userinfo(
        &self,
        service: &Service,
        req: UserInfoRequest,
    ) -> EngineResult<UserInfoResponse> {
        let token = match userinfo::userinfo_token(service, req.token.as_deref()) {
            Ok(t) => t,
            Err(response) => return Ok(*response),
        };
        let (found, client) = self.token_and_client(service, &token).await?;
        let alias = client
            .as_ref()
            .and_then(|c| c.client.client_id_alias.as_deref());
        Ok(userinfo::userinfo(
            service,
            &token,
            found.as_ref(),
            alias,
            self.now(),
        ))
    }

    pub async fn userinfo_issue(
        &self,
        service: &Service,
        req: UserInfoIssueRequest,
    ) -> EngineResult<UserInfoIssueResponse> {
        let token = match userinfo::issue_token(service, req.token.as_deref()) {
            Ok(t) => t,
            Err(response) => return Ok(*response),
        };
        let (found, client) = self.token_and_client(service, &token).await?;
        let secret = self.open_secret(client.as_ref().map(|c| c.sealed_secret.as_str()));
        let signing = self.signing(secret.as_deref());
        let input = userinfo::IssueInput {
            claims: req.claims.as_deref(),
            sub: req.sub.as_deref(),
        };
        Ok(userinfo::issue(
            service,
            found.as_ref(),
            client.as_ref().map(|c| &c.client),
            input,
            signing,
            self.now(),
        ))
    }

    pub async fn standard_introspection(
        &self,
        service: &Service,
        req: StandardIntrospectionRequest,
    ) -> EngineResult<EnvelopeOnly> {
        let call = match introspection::check_standard(
            service,
            req.parameters.as_deref(),
            req.with_hidden_properties,
        ) {
            Ok(c) => c,
            Err(response) => return Ok(*response),
        };
        let found = self
            .find_either(&self.presented_hash(service, &call.token), call.hint)
            .await?;
        Ok(introspection::introspect_standard(
            service,
            &call,
            found,
            self.now(),
        ))
    }

    /// Looks a token hash up as an access token and as a refresh token, in the hinted order.
    async fn find_either(
        &self,
        hash: &SecretHash,
        hint: introspection::Hint,
    ) -> EngineResult<Option<introspection::Found>> {
        let as_access = async {
            Ok::<_, crate::EngineError>(self.store.get_token_by_access(hash).await?.map(|record| {
                introspection::Found {
                    record,
                    is_refresh_token: false,
                }
            }))
        };
        let as_refresh = async {
            Ok::<_, crate::EngineError>(match self.store.get_token_by_refresh(hash).await? {
                RefreshLookup::Live(record) => Some(introspection::Found {
                    record,
                    is_refresh_token: true,
                }),
                _ => None,
            })
        };
        Ok(match hint {
            introspection::Hint::AccessToken => match as_access.await? {
                Some(f) => Some(f),
                None => as_refresh.await?,
            },
            introspection::Hint::RefreshToken => match as_refresh.await? {
                Some(f) => Some(f),
                None => as_access.await?,
            },
        })
    }

    pub async fn revocation(
        &self,
        service: &Service,
        req: RevocationRequest,
    ) -> EngineResult<EnvelopeOnly> {
        let begun = match revocation::begin(service, req) {
            Ok(b) => b,
            Err(response) => return Ok(*response),
        };
        let (lookup, sealed) = self
            .lookup_client(service, &begun.client_identifier)
            .await?;
        let secret = self.open_secret(sealed.as_deref());
        let client = match revocation::authenticate(service, &begun, lookup, secret.as_deref()) {
            Ok(c) => c,
            Err(response) => return Ok(*response),
        };
        let hash = self.presented_hash(service, &begun.token);
        let found = self.find_either(&hash, begun.hint).await?;
        let (response, delete) =
            revocation::decide(service, &begun, &client, found.as_ref().map(|f| &f.record));
        if delete && let Some(f) = found {
            if f.is_refresh_token {
                self.store.revoke_by_refresh(&hash).await?;
            } else {
                self.store.revoke_by_access(&hash).await?;
            }
        }
        Ok(response)
    }
}
