//! PKCE (RFC 7636) and the `state` value: random strings from the
//! system's generator, the S256 challenge.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use ring::rand::{SecureRandom, SystemRandom};

/// A fresh code verifier and its S256 challenge.
#[derive(Clone)]
pub struct Pkce {
    /// Sent with the code exchange; never leaves this process before.
    pub verifier: String,
    /// `BASE64URL(SHA256(verifier))`, sent in the authorization URL.
    pub challenge: String,
}

impl std::fmt::Debug for Pkce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkce")
            .field("challenge", &self.challenge)
            .finish_non_exhaustive()
    }
}

impl Pkce {
    /// 32 random bytes as the verifier (43 characters, RFC 7636 §4.1).
    pub fn new() -> Pkce {
        Pkce::from_verifier(random(32))
    }

    /// The challenge of a given verifier.
    pub fn from_verifier(verifier: String) -> Pkce {
        let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
        Pkce {
            challenge: B64URL.encode(digest.as_ref()),
            verifier,
        }
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Pkce::new()
    }
}

/// `bytes` random bytes, base64url without padding: for `state` and the
/// verifier.
pub fn random(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    // The system generator does not fail on the platforms we build for;
    // if it ever did, an all-zero value would be guessable, so stop.
    SystemRandom::new()
        .fill(&mut buf)
        .expect("the system's random number generator failed");
    B64URL.encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_rfc_7636_appendix_b() {
        let p = Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into());
        assert_eq!(p.challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(
            !format!("{p:?}").contains("dBjft"),
            "Debug hides the verifier"
        );
    }

    #[test]
    fn fresh_values_differ_and_have_the_right_length() {
        let (a, b) = (Pkce::new(), Pkce::new());
        assert_ne!(a.verifier, b.verifier);
        assert_eq!(a.verifier.len(), 43);
        assert_ne!(random(16), random(16));
    }
}
