//! Postscope: a mail composer and SMTP workbench. The library holds the
//! SMTP engine ([`smtp`]), message building ([`message`]) and the headless
//! command line ([`cli`]); the binary only parses arguments and dispatches.

pub mod cli;
pub mod message;
pub mod smtp;
