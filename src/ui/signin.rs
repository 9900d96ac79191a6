//! OAuth2 sign-in from the window: the Accounts tab's intents, the
//! sign-in thread (browser or device code, cancellable, a pasted answer
//! passed in), what it reports, and where a signed-in account's token
//! comes from when it sends. The keychain is only touched off the UI
//! thread; without one, a sign-in is kept in memory for the session.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::accounts::oauth::{GrantView, Running, SignInMsg};
use super::worker::{Background, Tasks};
use super::{App, Status};
use crate::app::SecretSource;
use crate::app::oauth::{GrantPlace, How, OAuthLogin};
use crate::oauth::{Progress, TokenSet};
use crate::store::grants::{self, Grant};
use crate::store::secrets::SecretStore;
use crate::store::settings::Account;

/// Opens the system browser; tests put their own "browser" here.
pub type Browser = Arc<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

/// The sign-in under way: how to stop it and how to pass it a pasted
/// address.
pub struct SignInControl {
    /// Which run: messages of an older one are ignored.
    run: u64,
    /// The grant lives in memory (no keychain).
    session: bool,
    cancel: Arc<AtomicBool>,
    paste: mpsc::Sender<String>,
}

/// What the window keeps for sign-ins.
pub struct SignIns {
    /// Opens the browser.
    pub browser: Browser,
    /// The running sign-in.
    control: Option<SignInControl>,
    /// Grants kept in memory (no keychain), by account.
    session: HashMap<String, Arc<Mutex<Grant>>>,
    /// The tab the last frame showed.
    pub shown_tab: Option<super::Tab>,
    /// Runs started so far.
    runs: u64,
}

impl Default for SignIns {
    fn default() -> Self {
        SignIns {
            browser: Arc::new(crate::app::oauth::system_browser),
            control: None,
            session: HashMap::new(),
            shown_tab: None,
            runs: 0,
        }
    }
}

impl Tasks {
    /// Runs a sign-in on its own thread, reporting each step.
    fn sign_in(
        &self,
        run: u64,
        login: OAuthLogin,
        device: bool,
        browser: Browser,
        hint: Option<String>,
    ) -> SignInControl {
        let session = matches!(login.place, GrantPlace::Session(_));
        let (paste_tx, paste_rx) = mpsc::channel::<String>();
        let cancel = Arc::new(AtomicBool::new(false));
        let stop = cancel.clone();
        let send = self.sender();
        let name = login.account.clone();
        self.spawn("postscope-sign-in", move || {
            let pasted = || paste_rx.try_recv().ok();
            let opener = |url: &str| browser(url);
            let how = if device {
                How::Device
            } else {
                How::Browser {
                    opener: &opener,
                    pasted: &pasted,
                }
            };
            let mut progress = |p| {
                send(Background::SignIn(SignInMsg::Progress(
                    run,
                    name.clone(),
                    p,
                )))
            };
            let result = login
                .sign_in(how, hint.as_deref(), &mut progress, &|| {
                    stop.load(Ordering::SeqCst)
                })
                .map(|s| (s.tokens, s.kept.map_err(|e| e.to_string())))
                .map_err(|e| match e {
                    crate::app::SecretProblem::OAuth(crate::oauth::OAuthError::Cancelled) => None,
                    other => Some(other.to_string()),
                });
            Some(Background::SignIn(SignInMsg::Done(run, name, result)))
        });
        SignInControl {
            run,
            session,
            cancel,
            paste: paste_tx,
        }
    }

    /// Reads an account's grant from the keychain.
    fn load_grant(&self, secrets: Arc<dyn SecretStore>, account: String, grantor: String) {
        self.spawn("postscope-grant", move || {
            let result = grants::load(&*secrets, &account)
                .map(|g| g.tokens_from(&grantor).cloned())
                .map_err(|e| e.to_string());
            Some(Background::SignIn(SignInMsg::Loaded(account, result)))
        });
    }

    /// Forgets an account's tokens.
    fn sign_out(&self, login: OAuthLogin) {
        self.spawn("postscope-sign-out", move || {
            let result = login.sign_out().map_err(|e| e.to_string());
            Some(Background::SignIn(SignInMsg::SignedOut(
                login.account,
                result,
            )))
        });
    }
}

fn view(tokens: Option<&TokenSet>, session_only: bool) -> GrantView {
    match tokens {
        Some(t) => GrantView::SignedIn {
            who: t.signed_in_as.clone(),
            until: t.expires_at,
            session_only,
        },
        None => GrantView::SignedOut,
    }
}

impl App {
    /// A deleted account's in-memory sign-in goes with it.
    pub(super) fn forget_session_grant(&mut self, name: &str) {
        self.signins.session.remove(name);
        self.accounts.signin.grants.remove(name);
    }

    /// A renamed account's in-memory sign-in follows it.
    pub(super) fn move_session_grant(&mut self, old: &str, new: &str) {
        if let Some(g) = self.signins.session.remove(old) {
            self.signins.session.insert(new.to_owned(), g);
        }
        self.accounts.signin.grants.remove(old);
    }

    /// Puts another "browser" in place of the system's (tests).
    pub fn set_browser(&mut self, browser: Browser) {
        self.signins.browser = browser;
    }

    /// The login of a saved OAuth2 account: its grant in memory if this
    /// session has one, else in the keychain.
    pub(super) fn oauth_login(&self, account: &Account) -> Option<OAuthLogin> {
        let settings = account.oauth.clone().filter(|_| account.signs_in())?;
        let place = match self.signins.session.get(&account.name) {
            Some(g) => GrantPlace::Session(g.clone()),
            None => GrantPlace::Keychain(self.secrets.clone()),
        };
        Some(OAuthLogin {
            account: account.name.clone(),
            settings,
            place,
            timeout: Duration::from_secs(account.timeout_secs.unwrap_or(30)),
        })
    }

    /// Where a signed-in account's token comes from when it sends.
    pub(super) fn oauth_source(&self, account: &Account) -> Option<SecretSource> {
        self.oauth_login(account).map(SecretSource::OAuth)
    }

    /// Reads the selected account's sign-in state, if it signs in.
    pub(super) fn refresh_grant_view(&mut self) {
        let Some(name) = self.accounts.form.original.clone() else {
            return;
        };
        let Some(account) = self.settings.account(&name).filter(|a| a.signs_in()) else {
            return;
        };
        if let Some(g) = self.signins.session.get(&account.name) {
            let tokens = g.lock().ok().and_then(|g| g.tokens.clone());
            self.accounts
                .signin
                .grants
                .insert(name, view(tokens.as_ref(), true));
            return;
        }
        self.accounts
            .signin
            .grants
            .entry(name.clone())
            .or_insert(GrantView::Loading);
        let grantor = account
            .oauth
            .as_ref()
            .map(|o| o.grantor())
            .unwrap_or_default();
        self.tasks.load_grant(self.secrets.clone(), name, grantor);
    }

    /// Starts signing in the account the form shows.
    pub(super) fn start_sign_in(&mut self, device: bool) {
        let Some(account) = self
            .accounts
            .form
            .original
            .as_ref()
            .and_then(|n| self.settings.account(n))
            .cloned()
        else {
            return;
        };
        let Some(mut login) = self.oauth_login(&account) else {
            return;
        };
        if let Some(old) = self.signins.control.take() {
            old.cancel.store(true, Ordering::SeqCst);
        }
        // No keychain: the sign-in goes to memory, with a client secret
        // typed this session.
        if self.keychain_problem.is_some() && !matches!(login.place, GrantPlace::Session(_)) {
            let secret = self
                .session_secrets
                .get(&account.name)
                .and_then(|s| Grant::from_secret(s))
                .unwrap_or_default();
            let grant = Arc::new(Mutex::new(secret));
            self.signins
                .session
                .insert(account.name.clone(), grant.clone());
            login.place = GrantPlace::Session(grant);
        }
        let hint = account.user.clone().or_else(|| account.email.clone());
        self.signins.runs += 1;
        let run = self.signins.runs;
        let control = self
            .tasks
            .sign_in(run, login, device, self.signins.browser.clone(), hint);
        self.accounts.signin.failed = None;
        self.accounts.signin.running = Some(Running {
            account: account.name.clone(),
            ..Running::default()
        });
        self.signins.control = Some(control);
        self.status = Status::Idle(format!("Signing in to {:?}…", account.name));
    }

    /// Stops the sign-in under way.
    pub(super) fn cancel_sign_in(&mut self) {
        if let Some(c) = &self.signins.control {
            c.cancel.store(true, Ordering::SeqCst);
        }
    }

    /// Hands a pasted redirect address to the sign-in under way.
    pub(super) fn paste_redirect(&mut self, text: String) {
        if let Some(c) = &self.signins.control {
            let _ = c.paste.send(text);
        }
    }

    /// Signs the form's account out.
    pub(super) fn sign_out(&mut self) {
        let account = self
            .accounts
            .form
            .original
            .as_ref()
            .and_then(|n| self.settings.account(n))
            .cloned();
        if let Some(login) = account.as_ref().and_then(|a| self.oauth_login(a)) {
            self.tasks.sign_out(login);
        }
    }

    /// Takes what a sign-in thread reported.
    pub(super) fn on_sign_in(&mut self, msg: SignInMsg) {
        let current = self.signins.control.as_ref().map(|c| c.run);
        let session = self.signins.control.as_ref().is_some_and(|c| c.session);
        let panel = &mut self.accounts.signin;
        match msg {
            SignInMsg::Progress(run, ..) | SignInMsg::Done(run, ..) if Some(run) != current => {
                // An older sign-in, replaced by a newer one.
            }
            SignInMsg::Progress(_, account, p) => {
                let Some(run) = panel.running.as_mut().filter(|r| r.account == account) else {
                    return;
                };
                match p {
                    Progress::OpenBrowser { url, opened } => {
                        run.url = Some(url);
                        run.opened = Some(opened);
                    }
                    Progress::DeviceCode {
                        user_code,
                        verification_uri,
                        ..
                    } => run.device = Some((user_code, verification_uri)),
                    Progress::PasteRefused(why) => run.note = Some(format!("Not used: {why}")),
                    Progress::WrongState => {
                        run.note = Some(
                            "An answer for another sign-in reached Postscope and was refused"
                                .into(),
                        );
                    }
                    Progress::SlowedDown(every) => {
                        run.note = Some(format!(
                            "The provider asked to check less often (every {} s)",
                            every.as_secs()
                        ));
                    }
                    Progress::Exchanging => run.note = Some("Getting the tokens…".into()),
                }
            }
            SignInMsg::Done(_, account, result) => {
                panel.running = None;
                self.signins.control = None;
                match result {
                    Ok((tokens, kept)) => {
                        let session_only = kept.is_err() || session;
                        if let Err(why) = &kept {
                            // The keychain refused: keep the grant in memory.
                            let client_secret = self
                                .session_secrets
                                .get(&account)
                                .and_then(|s| Grant::from_secret(s))
                                .and_then(|g| g.client_secret);
                            let grant = Grant {
                                tokens: Some(tokens.clone()),
                                ..Grant::with_client_secret(client_secret)
                            };
                            self.signins
                                .session
                                .insert(account.clone(), Arc::new(Mutex::new(grant)));
                            self.keychain_problem = Some(why.clone());
                        }
                        let who = tokens.signed_in_as.clone();
                        panel
                            .grants
                            .insert(account.clone(), view(Some(&tokens), session_only));
                        self.learn_user(&account, who.as_deref());
                        let who = who.map(|w| format!(" as {w}")).unwrap_or_default();
                        self.status = if session_only {
                            Status::Warning(format!(
                                "Signed in to {account:?}{who} for this session only: the \
                                 keychain could not keep the tokens"
                            ))
                        } else {
                            Status::Sent(format!("Signed in to {account:?}{who}"))
                        };
                    }
                    Err(None) => {
                        self.status =
                            Status::Idle(format!("The sign-in to {account:?} was cancelled"));
                    }
                    Err(Some(why)) => {
                        self.status =
                            Status::Failed(format!("Not signed in to {account:?}: {why}"));
                        panel.failed = Some((account, why));
                    }
                }
            }
            SignInMsg::Loaded(account, result) => {
                let v = match result {
                    Ok(tokens) => view(tokens.as_ref(), false),
                    Err(why) => GrantView::Unknown(why),
                };
                panel.grants.insert(account, v);
            }
            SignInMsg::SignedOut(account, result) => match result {
                Ok(()) => {
                    self.signins.session.remove(&account);
                    panel.grants.insert(account.clone(), GrantView::SignedOut);
                    self.status = Status::Idle(format!("Signed out of {account:?}"));
                }
                Err(why) => {
                    self.status = Status::Failed(format!("Not signed out of {account:?}: {why}"));
                }
            },
        }
    }

    /// Saves the user name a sign-in learned, when the account had none:
    /// only that field, on the store's thread.
    fn learn_user(&mut self, account: &str, who: Option<&str>) {
        let (Some(who), Some(dirs)) = (who, self.dirs.clone()) else {
            return;
        };
        let (account, who) = (account.to_owned(), who.to_owned());
        self.tasks.spawn("postscope-account-user", move || {
            match crate::store::accounts::set_user_if_empty(&dirs, &account, &who) {
                Ok(Some(settings)) => Some(Background::SettingsReloaded(settings)),
                Ok(None) => None,
                Err(e) => Some(Background::StoreFailed(format!(
                    "Signed in, but the user name could not be saved: {e}"
                ))),
            }
        });
    }
}
