//! Private files for tokens and profiles.

use std::path::Path;

use crate::ClientError;

/// Writes `bytes` to `path`, mode 0600 from creation, replaced atomically.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), ClientError> {
    slipgate_proto::files::write_atomic(path, bytes, true)
        .map_err(|e| ClientError::Config(format!("cannot write {}: {e}", path.display())))
}
