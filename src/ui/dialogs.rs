//! When there is no file dialog. rfd asks the desktop portal
//! (xdg-desktop-portal) for one, or zenity; on a desktop with neither, every
//! Attach, Save, Open and Browse would do nothing and say nothing. Before
//! asking, the worker checks that one of them is there; when none is, the
//! window says why and asks for the path itself, with the format chosen in
//! the form for Save.

use std::path::PathBuf;

use egui::RichText;

/// Which form asked for a CA file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaFor {
    /// The Accounts tab.
    Account,
    /// The Console tab.
    Console,
}

/// What a file was wanted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogFor {
    /// Attach files to the message.
    Attach,
    /// Save the transcript panel's session.
    SaveTranscript,
    /// Load a saved transcript.
    OpenTranscript,
    /// A CA certificate for a form.
    CaFile(CaFor),
}

/// Whether a file dialog can be shown: the portal is running or can be
/// started on the session bus, or zenity is installed. `Err` says why not,
/// in words for the window. Blocks on D-Bus: call it on a worker thread.
pub fn available() -> Result<(), String> {
    if !cfg!(target_os = "linux") || zenity_installed() {
        return Ok(());
    }
    const PORTAL: &str = "org.freedesktop.portal.Desktop";
    let conn = zbus::blocking::Connection::session().map_err(|e| {
        format!("there is no D-Bus session bus to ask the desktop portal for a file dialog ({e})")
    })?;
    let dbus = zbus::blocking::fdo::DBusProxy::new(&conn)
        .map_err(|e| format!("the D-Bus session bus did not answer ({e})"))?;
    let name = zbus::names::BusName::try_from(PORTAL).map_err(|e| e.to_string())?;
    if dbus.name_has_owner(name).unwrap_or(false) {
        return Ok(());
    }
    let activatable = dbus.list_activatable_names().unwrap_or_default();
    if activatable.iter().any(|n| n.as_str() == PORTAL) {
        return Ok(());
    }
    Err(
        "no file dialog is available: the desktop portal (xdg-desktop-portal) is not \
         running and zenity is not installed"
            .into(),
    )
}

fn zenity_installed() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join("zenity").is_file()))
}

/// A format to save a transcript in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveFormat {
    /// Plain text.
    Text,
    /// JSON Lines, which Open… reads back.
    JsonLines,
    /// A web page with the sequence diagram.
    Html,
}

impl SaveFormat {
    fn extension(self) -> &'static str {
        match self {
            SaveFormat::Text => "txt",
            SaveFormat::JsonLines => "jsonl",
            SaveFormat::Html => "html",
        }
    }

    /// The format a file name's extension names, if any.
    fn of(path: &std::path::Path) -> Option<SaveFormat> {
        match path.extension()?.to_str()? {
            "txt" => Some(SaveFormat::Text),
            "jsonl" => Some(SaveFormat::JsonLines),
            "html" => Some(SaveFormat::Html),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            SaveFormat::Text => "Text (.txt)",
            SaveFormat::JsonLines => "JSON Lines (.jsonl)",
            SaveFormat::Html => "Web page with the diagram (.html)",
        }
    }
}

/// The in-app stand-in for the file dialog: a path, typed.
#[derive(Debug, Clone)]
pub struct PathPrompt {
    /// What the path is for.
    pub purpose: DialogFor,
    /// Why the native dialog is not used.
    pub why: String,
    /// The path as typed.
    pub path: String,
    /// For Save: the format (its extension is put on the path).
    pub format: SaveFormat,
    /// For Save: the file that exists and that the user agreed to replace.
    pub replace: Option<PathBuf>,
}

impl PathPrompt {
    /// A prompt for `purpose`, starting in the home folder.
    pub fn new(purpose: DialogFor, why: String) -> PathPrompt {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default();
        let path = match purpose {
            DialogFor::SaveTranscript => home.join("transcript.txt"),
            _ => home.join(""),
        };
        PathPrompt {
            purpose,
            why,
            path: path.display().to_string(),
            format: SaveFormat::Text,
            replace: None,
        }
    }

    /// The path to use. For Save, it ends in the chosen format's
    /// extension: another format's is replaced, any other is kept and the
    /// format's added (`report.2024` → `report.2024.txt`).
    pub fn chosen(&self) -> PathBuf {
        let path = PathBuf::from(self.path.trim());
        if self.purpose != DialogFor::SaveTranscript {
            return path;
        }
        let ext = self.format.extension();
        if SaveFormat::of(&path).is_some() || path.extension().is_none() {
            path.with_extension(ext)
        } else {
            let mut name = path.clone().into_os_string();
            name.push(".");
            name.push(ext);
            PathBuf::from(name)
        }
    }

    /// Draws the prompt. `Some(Some(path))`: go ahead; `Some(None)`: cancel.
    pub fn ui(&mut self, ctx: &egui::Context) -> Option<Option<PathBuf>> {
        let mut outcome = None;
        let title = match self.purpose {
            DialogFor::Attach => "Attach a file",
            DialogFor::SaveTranscript => "Save the transcript",
            DialogFor::OpenTranscript => "Open a saved transcript",
            DialogFor::CaFile(_) => "Choose a CA certificate (PEM)",
        };
        let modal = egui::Modal::new(egui::Id::unique("path_prompt")).show(ctx, |ui| {
            ui.set_max_width(520.0);
            ui.heading(title);
            ui.add(
                egui::Label::new(
                    RichText::new(format!(
                        "⚠ {}. Type the file's path instead{}.",
                        capitalised(&self.why),
                        if self.purpose == DialogFor::Attach {
                            ", or drop files on the window"
                        } else {
                            ""
                        }
                    ))
                    .color(super::style::warn(ui)),
                )
                .wrap(),
            );
            ui.add_space(4.0);
            ui.horizontal(|ui| {
                let label = ui.label("Path");
                let field = ui
                    .add(egui::TextEdit::singleline(&mut self.path).desired_width(420.0))
                    .labelled_by(label.id);
                if field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                    outcome = Some(Some(self.chosen()));
                }
            });
            if self.purpose == DialogFor::SaveTranscript {
                ui.horizontal(|ui| {
                    ui.label("Format");
                    for format in [SaveFormat::Text, SaveFormat::JsonLines, SaveFormat::Html] {
                        ui.radio_value(&mut self.format, format, format.name());
                    }
                });
                let chosen = self.chosen();
                if self.replace.as_ref() == Some(&chosen) {
                    ui.label(
                        RichText::new(format!(
                            "⚠ {} exists. Save again to replace it.",
                            chosen.display()
                        ))
                        .color(super::style::warn(ui)),
                    );
                } else {
                    ui.label(RichText::new(format!("Saves to {}", chosen.display())).weak());
                }
            }
            ui.horizontal(|ui| {
                let replacing = self.replace.as_ref() == Some(&self.chosen());
                let verb = match self.purpose {
                    DialogFor::Attach => "Attach",
                    DialogFor::SaveTranscript if replacing => "Replace",
                    DialogFor::SaveTranscript => "Save",
                    DialogFor::OpenTranscript => "Open",
                    DialogFor::CaFile(_) => "Use this file",
                };
                if ui
                    .add_enabled(!self.path.trim().is_empty(), egui::Button::new(verb))
                    .clicked()
                {
                    outcome = Some(Some(self.chosen()));
                }
                if ui.button("Cancel").clicked() {
                    outcome = Some(None);
                }
            });
        });
        if modal.should_close() && outcome.is_none() {
            outcome = Some(None);
        }
        outcome
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The variable that turns the native file dialogs off (a portal that is
/// installed but never shows a dialog).
pub const NO_FILE_DIALOG_ENV: &str = "POSTSCOPE_NO_FILE_DIALOG";

impl super::App {
    /// Ask for typed paths instead of opening file dialogs (what
    /// `POSTSCOPE_NO_FILE_DIALOG=1` does; tests use it too).
    pub fn use_typed_paths(&mut self) {
        self.typed_paths = true;
    }

    /// With file dialogs off, opens the path prompt for `purpose` and says
    /// so (`true`); otherwise `false`, and the caller opens the dialog.
    pub(super) fn typed_path_instead(&mut self, purpose: DialogFor) -> bool {
        if self.typed_paths {
            let why = format!("file dialogs are turned off ({NO_FILE_DIALOG_ENV} is set)");
            self.path_prompt = Some(PathPrompt::new(purpose, why));
        }
        self.typed_paths
    }

    /// The path prompt, while it is open: what its path is used for.
    pub(super) fn path_prompt_ui(&mut self, ctx: &egui::Context) {
        let Some(prompt) = &mut self.path_prompt else {
            return;
        };
        let Some(outcome) = prompt.ui(ctx) else {
            return;
        };
        let purpose = prompt.purpose;
        let replace = prompt.replace.take();
        let why = std::mem::take(&mut prompt.why);
        self.path_prompt = None;
        let Some(path) = outcome else {
            return;
        };
        match purpose {
            DialogFor::Attach => self.attach_files(vec![path]),
            DialogFor::SaveTranscript => {
                let snapshot = self.transcript.snapshot();
                if replace.as_ref() == Some(&path) {
                    self.tasks.save_to(path, move |p| snapshot.render(p));
                } else {
                    self.tasks.save_new(path, why, move |p| snapshot.render(p));
                }
            }
            DialogFor::OpenTranscript => self.tasks.load_transcript(path),
            DialogFor::CaFile(for_form) => {
                self.ca_picked(for_form, path);
            }
        }
    }
}

impl super::App {
    /// A typed Save path names a file that exists: the prompt comes back
    /// with the path, asking before it replaces the file.
    pub(super) fn ask_to_replace(&mut self, path: PathBuf, why: String) {
        let mut prompt = PathPrompt::new(DialogFor::SaveTranscript, why);
        prompt.format = SaveFormat::of(&path).unwrap_or(SaveFormat::Text);
        prompt.path = path.display().to_string();
        prompt.replace = Some(path);
        self.path_prompt = Some(prompt);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_puts_the_chosen_formats_extension_on_the_path() {
        let mut p = PathPrompt::new(DialogFor::SaveTranscript, "no portal".into());
        p.path = "/tmp/session.txt".into();
        p.format = SaveFormat::Html;
        assert_eq!(p.chosen(), PathBuf::from("/tmp/session.html"));
        p.path = " /tmp/noext ".into();
        p.format = SaveFormat::JsonLines;
        assert_eq!(p.chosen(), PathBuf::from("/tmp/noext.jsonl"));
        p.path = "/tmp/report.2024".into();
        p.format = SaveFormat::Text;
        assert_eq!(p.chosen(), PathBuf::from("/tmp/report.2024.txt"));
        p.path = "/tmp/run.log.jsonl".into();
        p.format = SaveFormat::Html;
        assert_eq!(p.chosen(), PathBuf::from("/tmp/run.log.html"));
        let a = PathPrompt {
            path: "/tmp/a.pdf".into(),
            ..PathPrompt::new(DialogFor::Attach, String::new())
        };
        assert_eq!(a.chosen(), PathBuf::from("/tmp/a.pdf"));
    }
}
