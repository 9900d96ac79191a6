//! Delivery status notifications (RFC 3461): what a sender asks of the
//! servers a message passes through, and how it is written in MAIL FROM
//! (`RET`, `ENVID`) and RCPT TO (`NOTIFY`, `ORCPT`).

use std::fmt;

/// When a recipient's server should send a notice: any of success,
/// failure and delay, or never (every flag false).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Notify {
    /// On delivery.
    pub success: bool,
    /// When delivery failed.
    pub failure: bool,
    /// When delivery is delayed.
    pub delay: bool,
}

impl Notify {
    /// `NOTIFY=NEVER`: no notice at all, not even of a failure.
    pub const NEVER: Notify = Notify {
        success: false,
        failure: false,
        delay: false,
    };

    /// Reads `never` or a comma-separated list of `success`, `failure` and
    /// `delay` (any case). The error says what was wrong.
    pub fn parse(text: &str) -> Result<Notify, String> {
        let mut notify = Notify::NEVER;
        let mut never = false;
        let words: Vec<&str> = text.split(',').map(str::trim).collect();
        for word in &words {
            match word.to_ascii_lowercase().as_str() {
                "never" => never = true,
                "success" => notify.success = true,
                "failure" => notify.failure = true,
                "delay" => notify.delay = true,
                "" => {
                    return Err(format!(
                        "{text:?} has an empty item; write e.g. success,failure"
                    ));
                }
                _ => {
                    return Err(format!(
                        "{word:?} is not a notice: use never, or any of success, failure, delay \
                         separated by commas"
                    ));
                }
            }
        }
        if never && words.len() > 1 {
            return Err("never cannot be combined with success, failure or delay".into());
        }
        Ok(notify)
    }

    /// True for `NEVER`.
    pub fn is_never(&self) -> bool {
        *self == Notify::NEVER
    }
}

impl fmt::Display for Notify {
    /// The parameter's value: `NEVER` or e.g. `SUCCESS,FAILURE`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_never() {
            return f.write_str("NEVER");
        }
        let words = [
            (self.success, "SUCCESS"),
            (self.failure, "FAILURE"),
            (self.delay, "DELAY"),
        ];
        let list: Vec<&str> = words.iter().filter(|w| w.0).map(|w| w.1).collect();
        f.write_str(&list.join(","))
    }
}

/// What a failure notice carries back: the whole message or its headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ret {
    /// `RET=FULL`: the whole message.
    Full,
    /// `RET=HDRS`: only its headers.
    Hdrs,
}

impl Ret {
    /// Reads `full` or `hdrs` (any case).
    pub fn parse(text: &str) -> Result<Ret, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "full" => Ok(Ret::Full),
            "hdrs" => Ok(Ret::Hdrs),
            _ => Err(format!("{text:?} is not full or hdrs")),
        }
    }
}

impl fmt::Display for Ret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Ret::Full => "FULL",
            Ret::Hdrs => "HDRS",
        })
    }
}

/// The longest envelope ID, in characters (RFC 3461 §4.4).
pub const ENVID_MAX: usize = 100;

/// Checks an envelope ID: 1 to 100 printable ASCII characters (RFC 3461
/// §4.4); it is xtext-encoded on the wire.
pub fn check_envid(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("the envelope ID is empty".into());
    }
    if let Some(c) = id.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(format!(
            "the envelope ID has {c:?}: it must be printable ASCII without spaces (RFC 3461 §4.4)"
        ));
    }
    if id.len() > ENVID_MAX {
        return Err(format!(
            "the envelope ID has {} characters; the limit is {ENVID_MAX} (RFC 3461 §4.4)",
            id.len()
        ));
    }
    Ok(())
}

/// A request for delivery notices. Any part given asks the server for DSN,
/// and each recipient then carries an `ORCPT`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Dsn {
    /// `NOTIFY` for every recipient; `None`: the server's default (failure
    /// and perhaps delay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<Notify>,
    /// `RET`; `None`: the server's choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ret: Option<Ret>,
    /// `ENVID`, quoted back in every notice ([`check_envid`] holds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envid: Option<String>,
}

impl Dsn {
    /// True when nothing is asked: no DSN parameter goes out.
    pub fn is_empty(&self) -> bool {
        self.notify.is_none() && self.ret.is_none() && self.envid.is_none()
    }
}

/// The `ORCPT` value for a recipient: `rfc822;` and the address in xtext.
/// `None` for an address that is not ASCII: RFC 6533's `utf-8` type is
/// not understood by many servers, and ORCPT is optional.
pub fn orcpt(address: &str) -> Option<String> {
    address
        .is_ascii()
        .then(|| format!("rfc822;{}", xtext(address)))
}

/// RFC 3461 §4: printable ASCII but `+` and `=` as they are, every other
/// byte as `+` and two upper-case hex digits.
pub fn xtext(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if (b'!'..=b'~').contains(&b) && b != b'+' && b != b'=' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("+{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_lists() {
        let n = Notify::parse("Success, failure").unwrap();
        assert_eq!(n.to_string(), "SUCCESS,FAILURE");
        assert_eq!(Notify::parse("never").unwrap().to_string(), "NEVER");
        assert_eq!(
            Notify::parse("delay,success,failure").unwrap().to_string(),
            "SUCCESS,FAILURE,DELAY"
        );
        assert!(
            Notify::parse("never,success")
                .unwrap_err()
                .contains("never")
        );
        assert!(Notify::parse("always").unwrap_err().contains("\"always\""));
        assert!(Notify::parse("success,").unwrap_err().contains("empty"));
    }

    #[test]
    fn ret_and_envid() {
        assert_eq!(Ret::parse("HDRS").unwrap(), Ret::Hdrs);
        assert_eq!(Ret::parse("full").unwrap().to_string(), "FULL");
        assert!(Ret::parse("body").is_err());
        assert!(check_envid("QQ314159").is_ok());
        assert!(check_envid("").is_err());
        assert!(check_envid("a b").unwrap_err().contains("' '"));
        assert!(check_envid("é").is_err());
        assert!(check_envid(&"x".repeat(101)).unwrap_err().contains("101"));
    }

    #[test]
    fn xtext_and_orcpt() {
        // RFC 3461 §4.2's example, and the characters xtext must escape.
        assert_eq!(xtext("George @Tax- ME .GOV"), "George+20@Tax-+20ME+20.GOV");
        assert_eq!(xtext("a+b=c"), "a+2Bb+3Dc");
        assert_eq!(
            orcpt("Bob@Example.COM").as_deref(),
            Some("rfc822;Bob@Example.COM")
        );
        assert_eq!(orcpt("zoë@example.org"), None);
    }
}
