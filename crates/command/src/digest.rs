//! Digests shared across the crates: lowercase hex (SHA-256, MD5, SHA-1) for the client, the
//! audit trail, evidence checks and the emulator, and the running SHA-256 of a command's output
//! that the session layer computes as chunks arrive and the audit trail records.

use sha2::{Digest, Sha256};

/// `bytes` as lowercase hex, two digits a byte.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// SHA-256 and size of a command's stdout and stderr, fed chunk by chunk as output streams.
#[derive(Clone, Debug, Default)]
pub struct OutputDigest {
    stdout: Sha256,
    stderr: Sha256,
    pub stdout_bytes: u64,
    pub stderr_bytes: u64,
}

impl OutputDigest {
    pub fn stdout(&mut self, chunk: &[u8]) {
        self.stdout.update(chunk);
        self.stdout_bytes += chunk.len() as u64;
    }

    pub fn stderr(&mut self, chunk: &[u8]) {
        self.stderr.update(chunk);
        self.stderr_bytes += chunk.len() as u64;
    }

    /// The SHA-256 of the stdout so far, in hex.
    pub fn stdout_sha256(&self) -> String {
        hex(&self.stdout.clone().finalize())
    }

    /// The SHA-256 of the stderr so far, in hex.
    pub fn stderr_sha256(&self) -> String {
        hex(&self.stderr.clone().finalize())
    }

    /// The digest of a whole output, both streams.
    pub fn of(stdout: &[u8], stderr: &[u8]) -> OutputDigest {
        let mut d = OutputDigest::default();
        d.stdout(stdout);
        d.stderr(stderr);
        d
    }

    /// What identifies the output so far, stdout and stderr together: the SHA-256 of the two
    /// streams' SHA-256s (so an output is hashed once, for this and for the audit trail).
    pub fn identity(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.stdout.clone().finalize());
        h.update(self.stderr.clone().finalize());
        h.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn two_lowercase_digits_a_byte() {
        assert_eq!(super::hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(super::hex(&[]), "");
    }

    #[test]
    fn the_identity_tells_where_stdout_ends_and_stderr_begins() {
        use super::OutputDigest;
        let a = OutputDigest::of(b"same", b"").identity();
        assert_eq!(a, OutputDigest::of(b"same", b"").identity());
        assert_ne!(a, OutputDigest::of(b"sa", b"me").identity());
        assert_ne!(a, OutputDigest::of(b"", b"same").identity());
        assert_ne!(a, OutputDigest::of(b"other", b"").identity());
    }
}
