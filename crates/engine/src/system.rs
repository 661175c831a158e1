//! The real clock, the operating system's randomness, and the master key file.

use std::io::Write;
use std::path::Path;

use base64::Engine as _;
use castellan_core::secret::{Entropy, SecretKeys};

pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
    }
}

/// Randomness from the operating system (through aws-lc-rs).
pub struct SystemEntropy;

impl Entropy for SystemEntropy {
    fn fill(&mut self, dest: &mut [u8]) {
        if aws_lc_rs::rand::fill(dest).is_err() {
            // The OS generator does not fail on supported platforms; refuse to continue with
            // predictable bytes if it ever does.
            std::process::abort();
        }
    }
}

/// Reads the 32-byte master key from `CASTELLAN_MASTER_KEY` (base64url) when given, else from
/// `path`, creating that file (mode 0600) with a fresh key when it does not exist.
pub fn load_or_create_master_key(
    env_value: Option<&str>,
    path: &Path,
) -> Result<[u8; SecretKeys::MASTER_KEY_LEN], String> {
    let decode = |text: &str, origin: &str| -> Result<[u8; 32], String> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text.trim())
            .map_err(|_| format!("{origin}: the master key is not base64url"))?;
        <[u8; 32]>::try_from(bytes.as_slice())
            .map_err(|_| format!("{origin}: the master key must be 32 bytes"))
    };
    if let Some(value) = env_value.filter(|v| !v.trim().is_empty()) {
        return decode(value, "CASTELLAN_MASTER_KEY");
    }
    match std::fs::read_to_string(path) {
        Ok(text) => decode(&text, &path.display().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            SystemEntropy.fill(&mut key);
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("{}: {e}", parent.display()))?;
            }
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options
                .open(path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key);
            file.write_all(format!("{text}\n").as_bytes())
                .map_err(|e| format!("{}: {e}", path.display()))?;
            file.sync_all()
                .map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(key)
        }
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}
