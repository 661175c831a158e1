//! TLS to the database: rustls on AWS-LC (the project's one crypto backend), the certificate
//! checked against the given CA file or else the system's roots (as libpq does with and without
//! `sslrootcert`), and the server's name checked.

use std::path::Path;
use std::sync::Arc;

use castellan_store::{StoreError, StoreResult};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio_postgres_rustls::MakeRustlsConnect;

/// A connector that verifies the server against the certificates of `ca_file` (PEM: a private
/// CA, or the server's own self-signed certificate), or the system's roots without one.
pub fn connector(ca_file: Option<&Path>) -> StoreResult<MakeRustlsConnect> {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(path) = ca_file {
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| {
                StoreError::Backend(format!("cannot read the CA file {}: {e}", path.display()))
            })?;
        if certs.is_empty() {
            return Err(StoreError::Backend(format!(
                "the CA file {} holds no certificate",
                path.display()
            )));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| {
                StoreError::Backend(format!("unusable certificate in {}: {e}", path.display()))
            })?;
        }
    } else {
        let (added, _) =
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        if added == 0 {
            return Err(StoreError::Backend(
                "TLS to the database needs trusted roots: the system has none; give a CA file"
                    .into(),
            ));
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Backend(format!("TLS setup failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}
