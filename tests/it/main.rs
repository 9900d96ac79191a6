//! Integration tests.

mod common;
mod engine;
mod hostile;
mod probe;
mod send;
mod server;
mod usage;
