//! Signing in from the Accounts tab (egui_kittest on the real window):
//! the account made in the form, Sign in… with the test's "browser"
//! following the provider's pages, the state shown, a send through the
//! signed-in account verified by the SMTP server; a grant the provider
//! revokes: the send fails saying to sign in again, the message waits in
//! the Outbox, a new sign-in and a retry send it; Sign out.

use std::sync::{Arc, mpsc};
use std::time::Duration;

use egui_kittest::kittest::Queryable;
use postscope::store::secrets::{Keychain, SecretStore};
use postscope::ui::AppOptions;

use crate::gui::{click_and_wait, harness, pick_account, set_field, shows, wait_until};
use crate::oauth_server::{OidcServer, PUBLIC_CLIENT, SCOPES, USER};
use crate::server::{Mode, ServerOptions, TestServer};

#[test]
fn the_accounts_tab_signs_in_sends_survives_a_revocation_and_signs_out() {
    // Access tokens live 2 s: every send refreshes first.
    let oidc = OidcServer::start(2);
    let smtp = TestServer::start(ServerOptions {
        oauth_issuer: Some(oidc.issuer().to_owned()),
        ..ServerOptions::new(Mode::StartTls)
    });
    let root = tempfile::tempdir().unwrap();
    let options = AppOptions {
        start_sandbox: false,
        dirs: Some(postscope::store::DataDirs::at(root.path())),
    };
    let name = crate::common::unique("window");
    let mut h = harness(options);
    let (pages_tx, pages) = mpsc::channel();
    h.state_mut().set_browser(Arc::new(oidc.browser(pages_tx)));
    h.run();

    // The account, as a person fills it in.
    h.get_by_label("Accounts").click();
    h.run();
    set_field(&mut h, "Name", &name);
    set_field(&mut h, "Email", USER);
    set_field(&mut h, "Host", smtp.host());
    set_field(&mut h, "Port", &smtp.port().to_string());
    h.get_by_label("Login").click();
    h.run();
    h.get_by_label("OAuth2 (sign in with the browser)").click();
    h.run();
    h.get_by_label("Provider").click();
    h.run();
    h.get_by_label("Another OpenID Connect provider").click();
    h.run();
    set_field(&mut h, "Client ID", PUBLIC_CLIENT);
    set_field(&mut h, "Issuer", oidc.issuer());
    set_field(&mut h, "Scopes", &SCOPES.join(" "));
    set_field(&mut h, "CA file", &smtp.ca_pem().display().to_string());
    assert!(shows(&h, "Save the account, then sign in."));
    h.get_by_label("Save").click();
    wait_until(&mut h, "the account saved", |h| shows(h, "Not signed in."));

    // Sign in: the "browser" follows the provider's pages to the window's
    // loopback listener.
    h.get_by_label("Sign in…").click();
    h.step();
    wait_until(&mut h, "the sign-in", |h| {
        shows(h, &format!("Signed in as {USER}"))
    });
    let page = pages.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(
        page["body"]
            .as_str()
            .unwrap_or("")
            .contains("You can close this tab"),
        "{page}"
    );
    assert!(shows(&h, "access token until"), "the expiry is shown");
    assert_eq!(
        h.state().settings().account(&name).unwrap().user.as_deref(),
        Some(USER),
        "the user name comes with the sign-in"
    );
    let entry = Keychain
        .get(&name)
        .unwrap()
        .expect("the grant in the keychain");
    let settings = std::fs::read_to_string(root.path().join("config/settings.json")).unwrap();
    let grant = postscope::store::grants::Grant::from_secret(&entry).unwrap();
    let token = grant.tokens.unwrap().access_token;
    assert!(!settings.contains(&token), "no token in the settings file");

    // Send through it: the SMTP server verifies the token.
    pick_account(&mut h, &name);
    set_field(&mut h, "To", "bob@example.net");
    set_field(&mut h, "Subject", "Signed in from the window");
    click_and_wait(&mut h, "Send", "the send");
    let got = smtp.wait_for_messages(1, Duration::from_secs(10));
    assert_eq!(got[0].auth["mechanism"], "OAUTHBEARER");
    assert_eq!(got[0].auth["user"], USER);
    assert!(
        h.state()
            .transcript()
            .events()
            .iter()
            .any(|e| e.text == "AUTH OAUTHBEARER <redacted>")
    );
    assert!(
        h.state()
            .transcript()
            .events()
            .iter()
            .all(|e| !e.text.contains(&token)),
        "the token never shows"
    );

    // The provider revokes the grant: the send says what to do and the
    // message waits in the Outbox.
    oidc.revoke_all();
    set_field(&mut h, "To", "carol@example.net");
    set_field(&mut h, "Subject", "After the revocation");
    click_and_wait(&mut h, "Send", "the refused send");
    let status = format!("{:?}", h.state().status());
    assert!(status.contains("expired or was revoked"), "{status}");
    assert!(status.contains("press Sign in"), "{status}");
    assert!(shows(&h, "Outbox (1)"));
    assert_eq!(smtp.messages().len(), 1, "nothing more was sent");

    // Sign in again, then retry from the Outbox.
    h.get_by_label("Accounts").click();
    h.run();
    h.get_by_label(&name).click();
    h.run();
    wait_until(&mut h, "the dropped grant", |h| shows(h, "Not signed in."));
    h.get_by_label("Sign in…").click();
    h.step();
    wait_until(&mut h, "the second sign-in", |h| {
        shows(h, &format!("Signed in as {USER}"))
    });
    h.get_by_label("Outbox (1)").click();
    h.run();
    click_and_wait(&mut h, "Retry", "the retry");
    assert_eq!(smtp.wait_for_messages(2, Duration::from_secs(10)).len(), 2);
    wait_until(&mut h, "the Outbox emptied", |h| shows(h, "Outbox (0)"));

    // Sign out: the tokens leave the keychain.
    h.get_by_label("Accounts").click();
    h.run();
    h.get_by_label(&name).click();
    h.run();
    wait_until(&mut h, "the state read", |h| shows(h, "Sign out"));
    h.get_by_label("Sign out").click();
    wait_until(&mut h, "the sign-out", |h| shows(h, "Not signed in."));
    assert_eq!(Keychain.get(&name).unwrap(), None);
    let _ = Keychain.delete(&name);
}
