//! The delivery notices a client asked for (RFC 3461), as the sandbox
//! received them. The sandbox sends no notice (it delivers nothing): it
//! records the parameters with the envelope so a developer can see them.

use smtp_proto::{
    MAIL_RET_FULL, MAIL_RET_HDRS, RCPT_NOTIFY_DELAY, RCPT_NOTIFY_FAILURE, RCPT_NOTIFY_NEVER,
    RCPT_NOTIFY_SUCCESS,
};

use crate::smtp::{Notify, Ret};

/// What one RCPT TO asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecipientDsn {
    /// `NOTIFY=`, if given.
    pub notify: Option<Notify>,
    /// `ORCPT=rfc822;…`: the original recipient, decoded from xtext.
    pub orcpt: Option<String>,
}

impl RecipientDsn {
    /// From RCPT TO's parsed flags and ORCPT.
    pub(crate) fn of_rcpt(flags: u64, orcpt: Option<String>) -> RecipientDsn {
        let any = RCPT_NOTIFY_SUCCESS | RCPT_NOTIFY_FAILURE | RCPT_NOTIFY_DELAY | RCPT_NOTIFY_NEVER;
        let notify = (flags & any != 0).then_some(Notify {
            success: flags & RCPT_NOTIFY_SUCCESS != 0,
            failure: flags & RCPT_NOTIFY_FAILURE != 0,
            delay: flags & RCPT_NOTIFY_DELAY != 0,
        });
        RecipientDsn { notify, orcpt }
    }

    fn is_empty(&self) -> bool {
        self.notify.is_none() && self.orcpt.is_none()
    }
}

/// The DSN parameters of one message: MAIL FROM's and each recipient's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DsnRequest {
    /// `RET=`, if given.
    pub ret: Option<Ret>,
    /// `ENVID=`, decoded from xtext.
    pub envid: Option<String>,
    /// One per RCPT TO the sandbox accepted, in the same order as the
    /// recipients.
    pub recipients: Vec<RecipientDsn>,
}

impl DsnRequest {
    /// RET from MAIL FROM's parsed flags.
    pub(crate) fn ret_of_mail(flags: u64) -> Option<Ret> {
        if flags & MAIL_RET_FULL != 0 {
            Some(Ret::Full)
        } else if flags & MAIL_RET_HDRS != 0 {
            Some(Ret::Hdrs)
        } else {
            None
        }
    }

    /// True when the client asked for nothing.
    pub fn is_empty(&self) -> bool {
        self.ret.is_none() && self.envid.is_none() && self.recipients.iter().all(|r| r.is_empty())
    }

    /// One line for people: `RET=HDRS ENVID=QQ314159 NOTIFY=SUCCESS,FAILURE
    /// ORCPT 2 of 2`, the NOTIFY per recipient when they differ. Empty when
    /// nothing was asked.
    pub fn describe(&self, rcpt_to: &[String]) -> String {
        let mut parts = Vec::new();
        if let Some(ret) = self.ret {
            parts.push(format!("RET={ret}"));
        }
        if let Some(id) = &self.envid {
            parts.push(format!("ENVID={id}"));
        }
        let first = self.recipients.first().map(|r| r.notify);
        if self.recipients.iter().all(|r| Some(r.notify) == first) {
            if let Some(Some(n)) = first {
                parts.push(format!("NOTIFY={n}"));
            }
        } else {
            let each: Vec<String> = self
                .recipients
                .iter()
                .zip(rcpt_to)
                .map(|(r, to)| match r.notify {
                    Some(n) => format!("{to} NOTIFY={n}"),
                    None => format!("{to} no NOTIFY"),
                })
                .collect();
            parts.push(each.join(", "));
        }
        let orcpts = self.recipients.iter().filter(|r| r.orcpt.is_some()).count();
        if orcpts > 0 {
            parts.push(format!("ORCPT {orcpts} of {}", self.recipients.len()));
        }
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn described_in_one_line() {
        let to = ["a@x.example".to_owned(), "b@x.example".to_owned()];
        let same = DsnRequest {
            ret: Some(Ret::Hdrs),
            envid: Some("id-1".into()),
            recipients: vec![
                RecipientDsn::of_rcpt(
                    RCPT_NOTIFY_SUCCESS | RCPT_NOTIFY_FAILURE,
                    Some(to[0].clone()),
                ),
                RecipientDsn::of_rcpt(RCPT_NOTIFY_SUCCESS | RCPT_NOTIFY_FAILURE, None),
            ],
        };
        assert_eq!(
            same.describe(&to),
            "RET=HDRS ENVID=id-1 NOTIFY=SUCCESS,FAILURE ORCPT 1 of 2"
        );
        let apart = DsnRequest {
            recipients: vec![
                RecipientDsn::of_rcpt(RCPT_NOTIFY_NEVER, None),
                RecipientDsn::default(),
            ],
            ..DsnRequest::default()
        };
        assert_eq!(
            apart.describe(&to),
            "a@x.example NOTIFY=NEVER, b@x.example no NOTIFY"
        );
        assert!(!apart.is_empty());
        assert!(DsnRequest::default().is_empty());
        assert_eq!(DsnRequest::default().describe(&[]), "");
    }
}
