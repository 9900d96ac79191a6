//! Integration tests.

mod account;
mod bounds;
mod built;
mod common;
mod desktop;
mod dsn;
mod engine;
mod gui;
mod hostile;
mod oauth;
mod oauth_server;
mod oauth_window;
mod probe;
mod quit_after;
mod sandbox;
mod send;
mod server;
mod usage;
