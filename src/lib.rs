//! Postscope: a mail composer and SMTP workbench. The library holds the
//! SMTP engine ([`smtp`]), message building ([`message`]), the local sandbox
//! server ([`sandbox`]), the desktop app ([`ui`]) and the headless command
//! line ([`cli`]); the binary only parses arguments and dispatches.

// Without the window, what only the window uses (the job threads, the
// console's handle) is unused, not wrong.
#![cfg_attr(not(feature = "gui"), allow(dead_code, unused_imports))]

pub(crate) mod app;
pub mod cli;
pub mod clock;
pub mod message;
pub mod oauth;
pub mod sandbox;
pub(crate) mod share;
pub mod smtp;
pub mod store;
#[cfg(feature = "gui")]
pub mod ui;

#[doc(hidden)]
pub mod fuzz;
