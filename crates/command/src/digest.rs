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
}

#[cfg(test)]
mod tests {
    #[test]
    fn two_lowercase_digits_a_byte() {
        assert_eq!(super::hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(super::hex(&[]), "");
    }
}
