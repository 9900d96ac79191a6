use super::*;
use crate::store::secrets::Memory;

fn account(name: &str) -> Account {
    Account {
        name: name.into(),
        server: "smtp.example.org:587".into(),
        user: Some("ada".into()),
        ..Account::default()
    }
}

fn add(name: &str, secret: Option<&str>) -> Change {
    Change {
        account: account(name),
        original: None,
        secret: secret.map(str::to_owned),
    }
}

fn down() -> Memory {
    Memory::down()
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn save_rename_and_delete_move_the_keychain_entry() {
    for policy in [IfNoKeychain::SaveNothing, IfNoKeychain::KeepForSession] {
        let dir = tempfile::tempdir().unwrap();
        let dirs = DataDirs::at(dir.path());
        let keychain = Memory::default();
        let saved = save(&dirs, &keychain, add("work", Some("s3cret")), policy).unwrap();
        assert_eq!(saved.secret, SecretPlace::Keychain);
        assert!(saved.keychain_problem.is_none());
        assert_eq!(keychain.get("work").unwrap().as_deref(), Some("s3cret"));
        let file = std::fs::read_to_string(Settings::path(&dirs)).unwrap();
        assert!(!file.contains("s3cret"), "{file}");

        // A second account of the same name is refused.
        let clash = save(&dirs, &keychain, add("work", None), policy).unwrap_err();
        assert!(matches!(clash, AccountError::Exists(_)), "{clash}");
        assert!(clash.to_string().contains("already"), "{clash}");

        // Renamed without retyping: the secret follows.
        let rename = Change {
            original: Some("work".into()),
            ..add("office", None)
        };
        let saved = save(&dirs, &keychain, rename, policy).unwrap();
        assert_eq!(saved.settings.accounts.len(), 1);
        assert_eq!(keychain.get("office").unwrap().as_deref(), Some("s3cret"));
        assert_eq!(keychain.get("work").unwrap(), None);

        // Edited to log in no more: the secret goes.
        let mut plain = account("office");
        plain.user = None;
        let edit = Change {
            account: plain,
            original: Some("office".into()),
            secret: None,
        };
        save(&dirs, &keychain, edit, policy).unwrap();
        assert_eq!(keychain.get("office").unwrap(), None);

        let deleted = delete(&dirs, &keychain, "office", policy).unwrap();
        assert!(deleted.settings.accounts.is_empty());
        assert!(Settings::load(&dirs).0.accounts.is_empty());
        let missing = delete(&dirs, &keychain, "office", policy).unwrap_err();
        assert!(
            matches!(missing, AccountError::NotFound { .. }),
            "{missing}"
        );
    }
}

#[test]
fn without_a_keychain_the_window_keeps_the_secret_for_this_session() {
    let dir = tempfile::tempdir().unwrap();
    let dirs = DataDirs::at(dir.path());
    let saved = save(
        &dirs,
        &down(),
        add("work", Some("s3cret")),
        IfNoKeychain::KeepForSession,
    )
    .unwrap();
    assert_eq!(saved.secret, SecretPlace::ThisSession("s3cret".into()));
    let problem = saved.keychain_problem.unwrap().to_string();
    assert!(problem.contains("not available"), "{problem}");
    // Saved without the password: no file holds it.
    assert!(Settings::load(&dirs).0.account("work").is_some());
    for file in files_under(dir.path()) {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(!text.contains("s3cret"), "{}", file.display());
    }
    // Deleting goes on too, and says the entry may be left.
    let deleted = delete(&dirs, &down(), "work", IfNoKeychain::KeepForSession).unwrap();
    assert!(deleted.keychain_problem.is_some());
    assert!(deleted.settings.accounts.is_empty());
}

#[test]
fn without_a_keychain_the_command_line_saves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let dirs = DataDirs::at(dir.path());
    let e = save(
        &dirs,
        &down(),
        add("work", Some("s3cret")),
        IfNoKeychain::SaveNothing,
    )
    .unwrap_err();
    assert!(e.to_string().starts_with("nothing was saved: "), "{e}");
    assert!(e.to_string().contains("not available"), "{e}");
    assert!(
        !Settings::path(&dirs).exists(),
        "no settings file was written"
    );

    // An account with no login never needs the keychain.
    let mut plain = account("relay");
    plain.user = None;
    let change = Change {
        account: plain,
        original: None,
        secret: None,
    };
    save(&dirs, &down(), change, IfNoKeychain::SaveNothing).unwrap();
    let e = delete(&dirs, &down(), "relay", IfNoKeychain::SaveNothing).unwrap_err();
    assert!(e.to_string().starts_with("nothing was deleted: "), "{e}");
    assert!(Settings::load(&dirs).0.account("relay").is_some());
}

#[test]
fn a_change_keeps_accounts_saved_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let dirs = DataDirs::at(dir.path());
    let keychain = Memory::default();
    save(&dirs, &keychain, add("a", None), IfNoKeychain::SaveNothing).unwrap();
    // Another Postscope adds "b" behind this one's back.
    let (mut other, _) = Settings::load(&dirs);
    other.accounts.push(account("b"));
    other.save(&dirs).unwrap();
    let saved = save(&dirs, &keychain, add("c", None), IfNoKeychain::SaveNothing).unwrap();
    let names: Vec<_> = saved
        .settings
        .accounts
        .iter()
        .map(|a| &a.name[..])
        .collect();
    assert_eq!(names, ["a", "b", "c"]);
}

#[test]
fn a_rename_moves_the_secret_even_when_the_settings_file_started_afresh() {
    let dir = tempfile::tempdir().unwrap();
    let dirs = DataDirs::at(dir.path());
    let keychain = Memory::default();
    let policy = IfNoKeychain::KeepForSession;
    save(&dirs, &keychain, add("work", Some("s3cret")), policy).unwrap();
    // The settings file went bad and was kept aside: the window's form
    // still knows the account by its old name.
    std::fs::write(Settings::path(&dirs), "{ not json").unwrap();
    let rename = Change {
        original: Some("work".into()),
        ..add("office", None)
    };
    let saved = save(&dirs, &keychain, rename, policy).unwrap();
    assert!(saved.settings_problem.is_some());
    assert_eq!(keychain.get("office").unwrap().as_deref(), Some("s3cret"));
    assert_eq!(keychain.get("work").unwrap(), None);
}

#[test]
fn deleting_an_account_removed_meanwhile_says_so_and_tidies_its_entry() {
    let dir = tempfile::tempdir().unwrap();
    let dirs = DataDirs::at(dir.path());
    let keychain = Memory::default();
    keychain.set("ghost", "left over").unwrap();
    let e = delete(&dirs, &keychain, "ghost", IfNoKeychain::KeepForSession).unwrap_err();
    assert!(matches!(e, AccountError::NotFound { .. }), "{e}");
    assert_eq!(keychain.get("ghost").unwrap(), None);
}

#[test]
fn a_failed_cleanup_after_saving_is_reported_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let dirs = DataDirs::at(dir.path());
    let mut plain = account("relay");
    plain.user = None;
    let first = Change {
        account: plain.clone(),
        original: None,
        secret: None,
    };
    save(&dirs, &down(), first, IfNoKeychain::SaveNothing).unwrap();
    // Edited again without a keychain: saved; the cleanup could not run.
    let edit = Change {
        account: plain,
        original: Some("relay".into()),
        secret: None,
    };
    let saved = save(&dirs, &down(), edit, IfNoKeychain::SaveNothing).unwrap();
    assert!(saved.keychain_problem.is_some());
    assert!(Settings::load(&dirs).0.account("relay").is_some());
}

#[test]
fn an_oauth2_sign_in_is_kept_by_a_client_secret_and_dropped_when_leaving_oauth2() {
    use crate::store::grants::{self, Grant};
    let root = tempfile::tempdir().unwrap();
    let dirs = DataDirs::at(root.path());
    let keychain = Memory::default();
    let oauth = Account {
        auth: Some(crate::store::settings::AuthSetting::Oauth2),
        oauth: Some(crate::oauth::OAuthSettings {
            client_id: "app".into(),
            ..Default::default()
        }),
        ..account("mail")
    };
    let change = |secret: Option<&str>, account: Account| Change {
        account,
        original: Some("mail".into()),
        secret: secret.map(str::to_owned),
    };
    save(
        &dirs,
        &keychain,
        add("mail", None),
        IfNoKeychain::SaveNothing,
    )
    .unwrap();
    save(
        &dirs,
        &keychain,
        change(None, oauth.clone()),
        IfNoKeychain::SaveNothing,
    )
    .unwrap();
    // Signed in.
    let tokens = crate::oauth::TokenSet {
        access_token: "at".into(),
        refresh_token: Some("rt".into()),
        expires_at: None,
        scope: None,
        signed_in_as: None,
    };
    let signed = Grant {
        tokens: Some(tokens.clone()),
        ..Grant::with_client_secret(None)
    };
    grants::save(&keychain, "mail", &signed).unwrap();
    // A client secret typed later joins the entry; the sign-in stays.
    save(
        &dirs,
        &keychain,
        change(Some("cs"), oauth.clone()),
        IfNoKeychain::SaveNothing,
    )
    .unwrap();
    let kept = grants::load(&keychain, "mail").unwrap();
    assert_eq!(kept.tokens, Some(tokens));
    assert_eq!(kept.client_secret.as_deref(), Some("cs"));
    // Back to a password login without typing one: the grant goes, so it
    // can never be sent as a password.
    save(
        &dirs,
        &keychain,
        change(None, account("mail")),
        IfNoKeychain::SaveNothing,
    )
    .unwrap();
    assert_eq!(keychain.get("mail").unwrap(), None);
    // And a grant found where a password is read is refused.
    grants::save(&keychain, "mail", &signed).unwrap();
    let e = crate::app::read_secret(&keychain, "mail").unwrap_err();
    assert!(e.to_string().contains("not a password"), "{e}");
}
